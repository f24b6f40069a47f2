// TEMPORARY STUB (replaced by the real module from wip-shell before commit).
export class Unknown { constructor(readonly why: string) {} }
export interface ShellEnv { vars: Map<string, string | Unknown>; exported: Set<string>; }
export type PathEntry = { dir: string } | { inherited: true };
export type PathValue = { entries: PathEntry[] } | { unknown: string };
export interface Invocation { program: string; args: string[]; line: number; text: string; exec: boolean; path: PathValue; cwd: string | Unknown; conditional: boolean; }
export interface ShellAnalysis { invocations: Invocation[]; unfollowable: { line: number; text: string; reason: string }[]; parseError?: { line: number; column: number; message: string }; }
export async function analyzeScript(_text: string, _options?: { inheritedPath?: PathEntry[] | 'inherited'; knownVars?: Record<string, string> }): Promise<ShellAnalysis> { throw new Error('stub'); }
export function finalRunOf(_a: ShellAnalysis, _program: string): Invocation | undefined { throw new Error('stub'); }
export function resolvePath(_v: PathValue, _inherited: PathEntry[] | undefined): PathValue { throw new Error('stub'); }
export function renderPath(_v: PathValue): string { throw new Error('stub'); }
