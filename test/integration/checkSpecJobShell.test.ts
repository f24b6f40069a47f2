// --check-spec on the agents fixture (real Nix, nothing built): a runner's job_shell must be where the spec
// says (an environment.etc target, the service's environment, its ExecStart), with the spec line and a fix.
import { lineOf, useFixtureSpec } from '../helpers/fixtureSpec.js';

const agents = useFixtureSpec('agents');

const FILE = '      file: /etc/buildkite-agent/buildkite-agent.cfg\n      key: shell\n';
const run = (text: string) => agents.checkSpec(text);

test('the fixture spec as written: no problem, the job shell counted', async () => {
  const r = await run(agents.spec);
  expect(r.problems).toEqual([]);
  expect(r.checked).toContain('1 job shell setting');
}, 120_000);

test.each<[string, string, string, RegExp]>([
  [
    'a file environment.etc does not write',
    FILE.replace('buildkite-agent.cfg', 'agent.cfg'),
    'file: /etc',
    /consumers\[0\]\.job_shell\.file: no environment\.etc entry writes \/etc\/buildkite-agent\/agent\.cfg on host builder; \/etc\/buildkite-agent\/ gets: \/etc\/buildkite-agent\/buildkite-agent\.cfg/,
  ],
  [
    'a variable the service does not set',
    '      env: BUILDKITE_SHELL\n',
    'env:',
    /job_shell\.env: systemd\.services\.buildkite-agent-main\.environment has no BUILDKITE_SHELL on host builder/,
  ],
  [
    'an ExecStart option the service does not pass',
    '      arg: --shell\n',
    'arg:',
    /job_shell\.arg: the ExecStart of buildkite-agent-main\.service on host builder has no --shell/,
  ],
])(
  '%s',
  async (_, lines, marker, message) => {
    const text = agents.spec.replace(FILE, lines);
    const r = await run(text);
    const p = r.problems.find((x) => message.test(`${x.at}: ${x.message}`));
    expect(p?.line).toBe(lineOf(text, marker));
  },
  120_000,
);

test("with a default, an absent variable is the spec author's statement: no problem", async () => {
  const r = await run(agents.spec.replace(FILE, '      env: BUILDKITE_SHELL\n      default: /bin/sh -e -c\n'));
  expect(r.problems).toEqual([]);
}, 120_000);
