// Parsing: sh-syntax (mvdan/sh compiled to WASM) decides whether the text is valid shell and where it is not;
// our own reader (syntax.ts) builds the tree, and its top-level statement boundaries are checked against
// sh-syntax's so that a misreading shows up as an error instead of a wrong analysis.

import { parse as shParse } from 'sh-syntax';
import type { List } from './ast.js';
import { parseShell, ShellSyntaxError } from './syntax.js';

export type ParseResult = { list: List } | { error: { line: number; column: number; message: string; unsupported?: boolean } };

interface ShStmt {
  Pos: { Offset: number; Line: number; Col: number };
}

function lineCol(src: string, offset: number): { line: number; column: number } {
  const before = src.slice(0, offset);
  const line = before.split('\n').length;
  return { line, column: offset - before.lastIndexOf('\n') };
}

export async function parseScript(src: string): Promise<ParseResult> {
  let file: { Stmts?: ShStmt[] };
  try {
    file = (await shParse(src)) as unknown as { Stmts?: ShStmt[] };
  } catch (e) {
    const err = e as { Pos?: { Line: number; Col: number }; Text?: string; message?: string };
    if (err.Pos) return { error: { line: err.Pos.Line, column: err.Pos.Col, message: err.Text ?? String(e) } };
    // Some errors come back as a plain message "LINE:COL: text".
    const text = err.message ?? String(e);
    const m = /^(\d+):(\d+): (.*)$/s.exec(text);
    return { error: m ? { line: Number(m[1]), column: Number(m[2]), message: m[3]! } : { line: 0, column: 0, message: text } };
  }
  let list: List;
  try {
    list = parseShell(src);
  } catch (e) {
    if (!(e instanceof ShellSyntaxError)) throw e;
    return { error: { ...lineCol(src, e.offset), message: `shell syntax not modelled by nixenv-verify: ${e.message}`, unsupported: true } };
  }
  // sh-syntax reports byte offsets; compare in bytes.
  const ours = list.map((s) => Buffer.byteLength(src.slice(0, s.pos)));
  const theirs = (file.Stmts ?? []).map((s) => s.Pos.Offset);
  const k = ours.findIndex((o, n) => o !== theirs[n]);
  if (k >= 0 || ours.length !== theirs.length) {
    const at = k >= 0 ? list[k]!.pos : src.length;
    return { error: { ...lineCol(src, at), message: 'shell syntax not modelled by nixenv-verify: statement boundaries disagree with sh-syntax', unsupported: true } };
  }
  return { list };
}
