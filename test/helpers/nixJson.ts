// Reading nix's JSON in tests the way the client does, on every Nix version.
import { pathInfoEntries, type PathInfo } from '../../src/nix/client.js';

/**
 * The entries of `nix path-info --json` in either shape: a list of `{path, …}`
 * (Nix 2.8) or an object keyed by store path (2.26, 2.34; invalid paths are null).
 */
export const pathInfoList = (json: string): PathInfo[] => pathInfoEntries(JSON.parse(json));
