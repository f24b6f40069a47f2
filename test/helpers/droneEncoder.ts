// What Drone's docker runner does to a step's `settings:` before the plugin
// sees them, written from reading its encoder (internal/encoder/encoder.go):
//
//   - the pipeline is read as YAML 1.1 (yes/no/on/off are booleans, 010 is 8);
//   - each key becomes PLUGIN_<KEY> (upper-cased);
//   - a string is its text, a boolean `true`/`false`, an integer its decimal,
//     a float Go's strconv 'g' shortest form (1e+06 style exponents);
//   - a list whose items are all scalars: the items' text joined with commas
//     (an empty list is the empty string);
//   - any other list or a map: JSON;
//   - a key with no value (`report:`, YAML null) is dropped: no variable;
//   - `{ from_secret: name }`: the secret's text.
import { isMap, isScalar, isSeq, parseDocument, type Node } from 'yaml';

export type Secrets = Record<string, string>;

/** Go's strconv.FormatFloat(v, 'g', -1, 64): shortest digits; an exponent (two digits at least) when it is < -4 or >= 6. */
export function goFloat(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? '+Inf' : '-Inf';
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  const [mantissa, expText] = v.toExponential().split('e') as [string, string];
  const exp = Number(expText);
  if (exp < -4 || exp >= 6) return `${mantissa}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  return String(v);
}

function scalarText(node: Node): string | undefined {
  if (!isScalar(node)) return undefined;
  const v = node.value;
  if (v === null) return undefined;
  if (typeof v === 'boolean') return String(v);
  if (typeof v === 'number') {
    // yaml.v2 makes a float of any number written with a dot or an exponent.
    const source = (node as { srcToken?: { source?: string } }).srcToken?.source ?? '';
    const float =
      node.tag === 'tag:yaml.org,2002:float' ||
      !Number.isInteger(v) ||
      (/[.eE]/.test(source) && !/^[-+]?0x/i.test(source));
    return float ? goFloat(v) : String(v);
  }
  if (typeof v === 'bigint') return v.toString();
  return String(v);
}

function toJs(node: Node | null, secrets: Secrets): unknown {
  if (node === null) return null;
  if (isScalar(node)) return node.value;
  if (isSeq(node)) return node.items.map((n) => toJs(n as Node, secrets));
  if (isMap(node))
    return Object.fromEntries(
      node.items.map((p) => [String(isScalar(p.key) ? p.key.value : p.key), toJs(p.value as Node, secrets)]),
    );
  return null;
}

/** One settings value as Drone hands it to the plugin. */
export function encodeValue(node: Node | null, secrets: Secrets = {}): string {
  if (node === null) return 'null';
  if (isScalar(node)) return node.value === null ? 'null' : scalarText(node)!;
  if (isMap(node)) {
    const secret =
      node.items.length === 1 && isScalar(node.items[0].key) && node.items[0].key.value === 'from_secret'
        ? node.items[0].value
        : undefined;
    if (secret && isScalar(secret)) {
      const name = String(secret.value);
      if (!(name in secrets)) throw new Error(`no secret ${name}`);
      return secrets[name];
    }
    // ghodss YAMLToJSON of yaml.v2's Marshal: keys sorted.
    const js = toJs(node, secrets) as Record<string, unknown>;
    return JSON.stringify(
      Object.fromEntries(
        Object.keys(js)
          .sort()
          .map((k) => [k, js[k]]),
      ),
    );
  }
  if (isSeq(node)) {
    const items = node.items as Node[];
    if (items.every((n) => isScalar(n))) return items.map((n) => scalarText(n) ?? '').join(',');
    return JSON.stringify(toJs(node, secrets));
  }
  return '';
}

/** PLUGIN_<KEY> (upper-cased, nothing else changed: `log-level` stays `PLUGIN_LOG-LEVEL`); a null value is skipped, as the runner does. */
function addSetting(env: Record<string, string>, key: Node, value: Node | null, secrets: Secrets): void {
  if (value === null || (isScalar(value) && value.value === null)) return;
  env[`PLUGIN_${String(isScalar(key) ? key.value : key).toUpperCase()}`] = encodeValue(value, secrets);
}

/** A step's `settings:` (YAML text of the mapping, or a whole step) -> PLUGIN_* variables. */
export function encodeSettings(yamlText: string, secrets: Secrets = {}): Record<string, string> {
  const doc = parseDocument(yamlText, {
    version: '1.1',
    keepSourceTokens: true,
    // yaml.v2 leaves timestamps as text.
    customTags: (tags) => tags.filter((t) => typeof t === 'object' && t.tag !== 'tag:yaml.org,2002:timestamp'),
  });
  if (doc.errors.length) throw doc.errors[0];
  let root = doc.contents as Node | null;
  if (root && isMap(root) && root.has('settings')) root = root.get('settings', true) as Node;
  if (!root || !isMap(root)) return {};
  const env: Record<string, string> = {};
  for (const pair of root.items) addSetting(env, pair.key as Node, pair.value as Node | null, secrets);
  return env;
}

/** Every step with `settings:` in a pipeline file (all YAML documents): its image and its PLUGIN_* variables. */
export function encodePipelineSteps(
  yamlText: string,
  secrets: Secrets = {},
): { name: string; image?: string; env: Record<string, string> }[] {
  const out: { name: string; image?: string; env: Record<string, string> }[] = [];
  for (const doc of yamlText.split(/^---\s*$/m)) {
    const parsed = parseDocument(doc, { version: '1.1', keepSourceTokens: true });
    const steps = parsed.get('steps', true);
    if (!steps || !isSeq(steps)) continue;
    for (const step of steps.items) {
      if (!isMap(step) || !step.has('settings')) continue;
      const settingsNode = step.get('settings', true) as Node;
      const name = String(step.get('name') ?? '');
      const image = step.get('image');
      const env: Record<string, string> = {};
      if (isMap(settingsNode)) {
        for (const pair of settingsNode.items) addSetting(env, pair.key as Node, pair.value as Node | null, secrets);
      }
      out.push({ name, ...(typeof image === 'string' ? { image } : {}), env });
    }
  }
  return out;
}
