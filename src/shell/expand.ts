// Word expansion over symbolic values: parameters, quotes, `${…}` operators; command substitution and
// anything run-time-only become unknown pieces (never guessed).

import type { List, ParamPart, Word, WordPart } from './ast.js';
import {
  concat,
  concrete,
  nonEmpty,
  norm,
  replace,
  str,
  trim,
  unk,
  type PatChar,
  type Seg,
  type Val,
} from './value.js';

export interface Scope {
  /** A variable's value; `null` when the script unset it. */
  lookup(name: string): Val | null;
  /** `${x:=y}` assigns. */
  assign(name: string, val: Val): void;
  /** Command substitutions run in a subshell; the analysis records what they run. */
  onCommandSubst(body: List): void;
}

/** Expands a word without field splitting (assignment values, `case` words, PATH). */
export function expandJoined(word: Word | WordPart[], scope: Scope): Val {
  const parts = Array.isArray(word) ? word : word.parts;
  return concat(...parts.map((p) => expandPart(p, scope)));
}

/**
 * Expands a command word into fields: unquoted expansions are split on blanks (default IFS) when their value
 * is known; globbing is not performed (patterns stay literal).
 */
export function expandFields(word: Word, scope: Scope): Val[] {
  const fields: Val[] = [];
  let cur: Seg[] = [];
  let started = false;
  for (const part of word.parts) {
    const val = expandPart(part, scope);
    const splits = part.k !== 'lit' && part.k !== 'tilde' && !('quoted' in part && part.quoted);
    if (!splits) {
      cur.push(...val);
      started = true;
      continue;
    }
    for (const seg of val) {
      if (seg.t !== 'str') {
        cur.push(seg);
        started = true;
        continue;
      }
      const pieces = seg.v.split(/[ \t\n]+/);
      pieces.forEach((piece, k) => {
        if (k > 0 && (started || cur.length > 0)) {
          fields.push(norm(cur));
          cur = [];
          started = false;
        }
        if (piece !== '') {
          cur.push({ t: 'str', v: piece });
          started = true;
        }
      });
    }
  }
  if (started || cur.length > 0) fields.push(norm(cur));
  return fields;
}

function expandPart(part: WordPart, scope: Scope): Val {
  switch (part.k) {
    case 'lit':
      return str(part.v);
    case 'param':
      return expandParam(part, scope);
    case 'cmdsubst':
      if (part.body) scope.onCommandSubst(part.body);
      return unk(part.text.length > 40 ? `${part.text.slice(0, 37)}...` : part.text);
    case 'arith':
      return unk(part.text);
    case 'procsubst':
      return unk(part.text);
    case 'tilde': {
      if (part.user !== '') return unk(`~${part.user}`);
      const home = scope.lookup('HOME');
      return home && concrete(home) !== undefined ? home : unk('~');
    }
  }
}

function patternOf(parts: WordPart[] | undefined, scope: Scope): PatChar[] | undefined {
  const out: PatChar[] = [];
  for (const p of parts ?? []) {
    if (p.k === 'lit') for (const c of p.v) out.push({ c, lit: p.quoted });
    else {
      const v = concrete(expandPart(p, scope));
      if (v === undefined) return undefined;
      // Unquoted expansions inside a pattern keep their glob meaning; quoted ones are literal.
      const quoted = 'quoted' in p && p.quoted;
      for (const c of v) out.push({ c, lit: quoted });
    }
  }
  return out;
}

function expandParam(p: ParamPart, scope: Scope): Val {
  if (p.unsupported) return unk(p.text);
  if (!/^[A-Za-z_]/.test(p.name)) return unk(`$${p.name}`); // positional and special parameters
  const value = scope.lookup(p.name);
  // A wholly unknown value (e.g. from the caller's environment) may also be unset: every operator depends on that.
  if (p.op !== undefined && value !== null && value.length === 1 && value[0].t === 'unk')
    return [{ ...value[0], why: p.text }];
  const arg = () => expandJoined(p.arg ?? [], scope);
  const set = value !== null;
  switch (p.op) {
    case undefined:
      return value ?? [];
    case 'len': {
      const c = value === null ? '' : concrete(value);
      return c === undefined ? unk(p.text) : str(String(c.length));
    }
    case '-':
    case '=':
    case ':-':
    case ':=': {
      const useArg = !set || (p.op.startsWith(':') ? nonEmpty(value) === false : false);
      if (set && p.op.startsWith(':') && nonEmpty(value) === undefined) return unk(p.text);
      if (!useArg) return value;
      const a = arg();
      if (p.op.endsWith('=')) scope.assign(p.name, a);
      return a;
    }
    case '?':
    case ':?':
      return value ?? unk(p.text);
    case '+':
    case ':+': {
      if (!set) return [];
      if (p.op === '+') return arg();
      const ne = nonEmpty(value);
      return ne === undefined ? unk(p.text) : ne ? arg() : [];
    }
    case '#':
    case '##':
    case '%':
    case '%%': {
      const pat = patternOf(p.arg, scope);
      if (!pat) return unk(p.text);
      return trim(value ?? [], pat, p.op.startsWith('#'), p.op.length === 2, p.text);
    }
    case '/':
    case '//':
    case '/#':
    case '/%': {
      const pat = patternOf(p.arg, scope);
      if (!pat) return unk(p.text);
      const anchor = p.op === '/#' ? '#' : p.op === '/%' ? '%' : '';
      return replace(value ?? [], pat, expandJoined(p.repl ?? [], scope), p.op === '//', anchor, p.text);
    }
    default:
      return unk(p.text);
  }
}
