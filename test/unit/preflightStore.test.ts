import { PreflightError } from '../../src/errors.js';
import { preflightStore } from '../../src/run.js';

const probe = (writable: boolean, socket: boolean) => ({
  writable: () => writable,
  exists: (p: string) => p !== '/nix/var/nix/daemon-socket/socket' || socket,
  uid: 1000,
});

describe('a store nix can use, or exit 2 before anything runs', () => {
  test.each([
    ['root with a writable store', {}, probe(true, false), false],
    ['non-root, store not writable, no daemon', {}, probe(false, false), true],
    ['non-root, store not writable, a daemon socket', {}, probe(false, true), false],
    ['NIX_REMOTE=daemon', { NIX_REMOTE: 'daemon' }, probe(false, false), false],
    ['NIX_REMOTE=local forces the local store', { NIX_REMOTE: 'local' }, probe(false, true), true],
  ])('%s', (_, env, p, throws) => {
    const run = () => preflightStore(env, p);
    if (throws) expect(run).toThrow(PreflightError);
    else expect(run).not.toThrow();
  });
  test('the message says why and what to do', () =>
    expect(() => preflightStore({}, probe(false, false))).toThrow(/not writable by uid 1000.*run as root/));
});
