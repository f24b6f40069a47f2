// The spec file's schema: snake_case YAML keys, unknown keys are errors, and
// each field says what is allowed (the loader puts file:line:col in front).
import { z } from 'zod';
import { CHECK_IDS } from '../verdict.js';

/** A relative path inside the repository: no leading `/`, no `..` step. */
const repoPath = z
  .string()
  .trim()
  .min(1, 'expected a relative path inside the repository')
  .refine(
    (p) => !p.startsWith('/') && !p.split('/').includes('..') && !p.includes('\0'),
    'expected a relative path inside the repository (no leading / and no ..)',
  )
  // The same rule for the JSON Schema (zod cannot export a refine): no leading /, no .. step, not blank.
  .meta({ pattern: '^(?!\\s*/)(?!\\s*\\.\\.(?:/|\\s*$))(?!.*/\\.\\.(?:/|\\s*$))(?=[\\s\\S]*\\S)[^\\u0000]*$' });

const name = z.string().trim().min(1, 'expected a non-empty name').meta({ pattern: '\\S' });
const attrName = z
  .string()
  .regex(
    /^[A-Za-z_][A-Za-z0-9_'-]*$/,
    "expected a Nix attribute name (letters, digits, _ ' -; not starting with a digit or -)",
  );
const hostName = z
  .string()
  .regex(/^[A-Za-z0-9_'.-]+$/, "expected a nixosConfigurations attribute name (letters, digits, - _ . ')")
  .refine((h) => h !== '.' && h !== '..', 'expected a host name')
  .meta({ not: { enum: ['.', '..'] } });
const serviceUnit = z
  .string()
  .regex(
    /^(?:[A-Za-z0-9:_.@\\-]|\{host\})+\.service$/,
    'expected a systemd service unit name ending in .service ({host} is replaced by each host name)',
  );
const program = z.string().regex(/^[^/\s]+$/, 'expected a program name (no / and no spaces)');
const nonEmptyList = <T extends z.ZodType>(item: T, what: string) =>
  z.array(item, `expected a list of ${what}`).min(1, `expected a non-empty list of ${what}`);
const patterns = z.array(z.string().min(1, 'expected a non-empty text'), 'expected a list of texts');

/** What a host may set for itself, or host_defaults for every host named alone. */
const hostFields = {
  config: repoPath.optional(),
  required_programs: z.array(program, 'expected a list of program names').optional(),
};
const hostMap = z.strictObject({ name: hostName, ...hostFields });
const hostDefaults = z.strictObject(hostFields, 'expected a map with config and required_programs');

const hostEntry = z.union([hostName, hostMap], {
  error: 'expected a host name or a map with name, config and required_programs',
});

const moduleRules = {
  module: repoPath.optional(),
  module_must_not_contain: patterns.optional(),
};
const flag = z.boolean('expected true or false').optional();
/** A host-bound consumer that exists on some hosts only: judged there alone (default: every host). */
const onHosts = {
  hosts: nonEmptyList(hostName, "host names (from the spec's hosts)").optional(),
};

/**
 * What may run after the program: true (any command) or the names of the commands allowed (`[curl]`). Absent: the
 * program is the service's last step (its exec).
 */
const allowAfter = z
  .union([z.boolean(), z.array(program, 'expected a list of program names').min(1)], {
    error: 'expected true, false or a list of program names allowed after the program (e.g. [curl])',
  })
  .optional();

/**
 * Where a runner reads the shell it runs each job's commands with: exactly one of the unit's environment variable
 * (`env`), a key of an /etc file the configuration writes (`file` + `key`), or an ExecStart argument (`arg`).
 */
const jobShellPlaceKeys = {
  env: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name such as BUILDKITE_SHELL')
    .optional(),
  file: z
    .string()
    .regex(/^\/etc\/[^\s]+$/, 'expected an absolute /etc path (a file environment.etc writes)')
    .refine((f) => !f.split('/').includes('..'), 'expected an /etc path without ..')
    .optional(),
  key: z
    .string()
    .regex(/^[A-Za-z0-9_.-]+$/, 'expected a config key such as shell')
    .optional(),
  arg: z
    .string()
    .regex(/^--?[A-Za-z0-9][A-Za-z0-9-]*$/, 'expected a command-line option such as --shell')
    .optional(),
};
type PlaceKeys = { env?: string; file?: string; key?: string; arg?: string };
const onePlace = <T extends z.ZodType<PlaceKeys>>(schema: T) =>
  schema
    .refine((j) => [j.env, j.file, j.arg].filter((x) => x !== undefined).length === 1, {
      error: 'expected exactly one of env, file or arg',
    })
    .refine((j) => (j.file === undefined) === (j.key === undefined), { error: 'file and key go together' })
    .meta({ oneOf: [{ required: ['env'] }, { required: ['file', 'key'] }, { required: ['arg'] }] });
const jobShellPlace = onePlace(
  z.strictObject(jobShellPlaceKeys, 'expected a map with one of env, file (with key) or arg'),
);
const jobShellMap = z.strictObject(
  {
    ...jobShellPlaceKeys,
    default: z.string().min(1, 'expected the shell command the runner uses when the setting is absent').optional(),
    overridden_by: z
      .array(jobShellPlace, 'expected a list of the places that win over this one, highest first')
      .optional(),
  },
  'expected a map with one of env, file (with key) or arg, and optionally default and overridden_by',
);
const jobShell = onePlace(jobShellMap);

/** One schema per consumer kind; `kind` tells them apart. */
const consumerKinds = [
  z.strictObject({
    name,
    kind: z.literal('systemd-service'),
    unit: serviceUnit,
    started_by_timer: flag,
    ...moduleRules,
    module_runtime_inputs_only: flag,
    module_execs_program: flag,
    allow_after: allowAfter,
    ...onHosts,
  }),
  z.strictObject({
    name,
    kind: z.literal('drone-step'),
    pipeline: repoPath,
    runs: repoPath,
    runner_unit: serviceUnit,
    ...moduleRules,
    ...onHosts,
  }),
  z.strictObject({
    name,
    kind: z.literal('runner-service'),
    unit: serviceUnit,
    ...moduleRules,
    job_shell: jobShell.optional(),
    ...onHosts,
  }),
  z.strictObject({
    name,
    kind: z.literal('system-packages'),
    same_definition: flag,
    config_references_tools: flag,
    includes_package: flag,
    required_programs_from: z
      .enum(['tools', 'anywhere'], 'expected tools (the shared tool list) or anywhere (any package)')
      .optional(),
    ...onHosts,
  }),
  z.strictObject({
    name,
    kind: z.literal('derivation'),
    attr: z
      .string()
      .regex(
        /^[A-Za-z0-9_'-]+(\.[A-Za-z0-9_'-]+)+$/,
        'expected a flake output attribute path such as packages.x86_64-linux.image',
      ),
    through: z
      .string()
      .regex(
        /^[A-Za-z0-9_'-]+(\.[A-Za-z0-9_'-]+)*$/,
        'expected an attribute path under attr, such as stream or passthru.image',
      )
      .optional(),
    reference: z
      .enum(
        ['runtime', 'build-input'],
        'expected runtime (in its runtime closure) or build-input (run while it builds)',
      )
      .optional(),
    image: flag,
  }),
  z.strictObject({
    name,
    kind: z.literal('systemd-user-service'),
    unit: serviceUnit,
    started_by_timer: flag,
    ...moduleRules,
    ...onHosts,
  }),
  z.strictObject({
    name,
    kind: z.literal('dev-shell'),
    attr: z
      .string()
      .regex(
        /^[A-Za-z0-9_'-]+(\.[A-Za-z0-9_'-]+)+$/,
        'expected a flake output attribute path such as devShells.x86_64-linux.default',
      ),
    tools_on_path: flag,
  }),
  z.strictObject({
    name,
    kind: z.literal('module-option'),
    option: z
      .string()
      .regex(
        /^[A-Za-z_][A-Za-z0-9_'-]*(\.[A-Za-z_][A-Za-z0-9_'-]*)*$/,
        "expected a dotted NixOS option path such as agents.toolbox (names of letters, digits, _ ' -)",
      ),
    value: z
      .enum(['tools', 'package'], 'expected tools (the shared tool list) or package (the shared package)')
      .optional(),
    ...onHosts,
  }),
] as const;

const kindNames = consumerKinds.map((k) => k.shape.kind.value);
const consumer = z.discriminatedUnion('kind', consumerKinds, {
  error: `expected kind: ${kindNames.slice(0, -1).join(', ')} or ${kindNames[kindNames.length - 1]}`,
});

const count = z.number('expected a whole number').int('expected a whole number').min(0, 'expected a whole number >= 0');

const proofMap = z.strictObject(
  {
    id: z
      .string()
      .regex(/^[A-Za-z0-9_-]+$/, 'expected an id of letters, digits, _ and -')
      .optional(),
    pattern: z.string().min(1, 'expected a non-empty text to grep for'),
    in: repoPath.optional(),
    count: count.optional(),
    at_least: count.optional(),
    all_in: repoPath.optional(),
    in_shared_file: flag,
    same_line_as: z.string().min(1).optional(),
  },
  'expected a map with pattern and count (or at_least)',
);
const proof = proofMap
  .refine((p) => (p.count === undefined) !== (p.at_least === undefined), {
    error: 'expected exactly one of count and at_least',
  })
  .meta({ oneOf: [{ required: ['count'] }, { required: ['at_least'] }] });

export const specSchema = z.strictObject(
  {
    version: z.literal(1, 'expected version: 1'),
    hosts: nonEmptyList(hostEntry, 'hosts'),
    host_defaults: hostDefaults.optional(),
    shared: z.strictObject(
      {
        package: attrName,
        program: program.optional(),
        file: repoPath,
        tools_attr: attrName,
        env_attr: attrName.optional(),
      },
      'expected a map with package, file, tools_attr (and optionally program, env_attr)',
    ),
    expected_tools: z.strictObject(
      {
        match: z.enum(['superset', 'exact'], 'expected superset or exact').optional(),
        entries: nonEmptyList(
          z.string().regex(/^[^\s/]+$/, 'expected a name-version entry such as git-2.47.2'),
          'name-version entries',
        ),
      },
      'expected a map with entries (and optionally match: superset or exact)',
    ),
    consumers: nonEmptyList(consumer, 'consumers'),
    search_dir: repoPath.optional(),
    proofs: z.array(proof, 'expected a list of grep proofs').optional(),
    checks: nonEmptyList(z.enum(CHECK_IDS, `expected one of ${CHECK_IDS.join(', ')}`), 'checks').optional(),
    retired: z.array(z.string().min(1), 'expected a list of consumer names (or `name@host`)').optional(),
  },
  'expected a map (a spec: version, hosts, shared, expected_tools, consumers, …)',
);

export type SpecFile = z.infer<typeof specSchema>;

/** The keys each map of a spec allows, from the schema itself (for "allowed here" in errors). */
export const SPEC_KEYS = {
  top: Object.keys(specSchema.shape),
  shared: Object.keys(specSchema.shape.shared.shape),
  expected_tools: Object.keys(specSchema.shape.expected_tools.shape),
  host_defaults: Object.keys(hostDefaults.shape),
  hosts: Object.keys(hostMap.shape),
  proofs: Object.keys(proofMap.shape),
  job_shell: Object.keys(jobShellMap.shape),
  consumers: Object.fromEntries(consumerKinds.map((k) => [k.shape.kind.value, Object.keys(k.shape)])) as Record<
    string,
    string[]
  >,
};
