// --check-spec on the build-agents fixture (real Nix, nothing built): a module-option consumer's `option` must be an
// option of each of its hosts (looked up by name in `options`), with the spec line and a did-you-mean.
import { lineOf, useFixtureSpec } from '../helpers/fixtureSpec.js';

const agents = useFixtureSpec('build-agents');

const OPTION = 'option: agents.toolbox';
const run = (text: string) => agents.checkSpec(text);

test('the fixture spec as written: no problem, the module options counted', async () => {
  const r = await run(agents.spec);
  expect(r.problems).toEqual([]);
  expect(r.checked).toContain('module options');
}, 120_000);

test.each<[string, string, RegExp]>([
  [
    'a misspelt option',
    'option: agents.toolbx',
    /consumers\[4\]\.option: host agent-1 has no option agents\.toolbx: "toolbx" is not in options\.agents; did you mean toolbox\? \(there: count, toolbox\)/,
  ],
  [
    'a set of options',
    'option: agents',
    /consumers\[4\]\.option: agents on host agent-1 is a set of options, not an option \(there: count, toolbox\)/,
  ],
  [
    'an option of no module',
    'option: services.nope.toolbox',
    /has no option services\.nope\.toolbox: "nope" is not in options\.services/,
  ],
])(
  '%s',
  async (_, replacement, message) => {
    const text = agents.spec.replace(OPTION, replacement);
    const r = await run(text);
    const p = r.problems.find((x) => message.test(`${x.at}: ${x.message}`));
    expect(p?.line).toBe(lineOf(text, replacement));
  },
  120_000,
);
