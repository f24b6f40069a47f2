// TEMPORARY STUB (replaced by the real module from wip-nixsyn before commit).
export interface Definition { name: string; kind: 'binding' | 'inherit' | 'inherit-from' | 'formal'; attrPath: string[]; scope: string; file?: string; line: number; column: number; text: string; value?: { from: number; to: number; text: string }; }
export interface NixParse { definitions: Definition[]; errors: { line: number; column: number; message: string }[]; }
export function parseNix(_t: string): NixParse { throw new Error('stub'); }
export function definitionsOf(_t: string, _n: string): Definition[] { throw new Error('stub'); }
export function stripComments(_t: string): string { throw new Error('stub'); }
export function appendToListDefinition(_t: string, _n: string, _i: string): { text: string; definition: Definition } | { error: string } { throw new Error('stub'); }
