// Symbolic string values: concrete text, the caller's PATH (kept as one opaque token) and unknown pieces.
//
// Assumption about the caller's PATH (the `inh` token): it is set, non-empty, and a list of non-empty entries
// separated by ':' (no leading/trailing/double ':'). `${PATH:+…}` therefore takes its `+` branch.

import type { PathEntry, PathValue } from './types.js';

/** `unk.why` is a short display form (`$X`, `$(git …)`); `reason`, when set, is a full sentence for evidence. */
export type Seg =
  { t: 'str'; v: string } | { t: 'inh'; without: string[] } | { t: 'unk'; why: string; reason?: string };
/** A value as a list of segments; [] is the empty string. */
export type Val = Seg[];

export const str = (v: string): Val => (v === '' ? [] : [{ t: 'str', v }]);
export const unk = (why: string, reason?: string): Val => [{ t: 'unk', why, ...(reason ? { reason } : {}) }];
export const inherited = (): Val => [{ t: 'inh', without: [] }];

/** Joins adjacent text segments and drops empty ones. */
export function norm(val: Val): Val {
  const out: Val = [];
  for (const s of val) {
    if (s.t === 'str') {
      if (s.v === '') continue;
      const last = out[out.length - 1];
      if (last && last.t === 'str') out[out.length - 1] = { t: 'str', v: last.v + s.v };
      else out.push(s);
    } else out.push(s);
  }
  return out;
}

export function concat(...vals: Val[]): Val {
  return norm(vals.flat());
}

/** The first unknown piece, to carry its reason into a derived value. */
export function firstUnknownSeg(val: Val): Extract<Seg, { t: 'unk' }> | undefined {
  return val.find((s): s is Extract<Seg, { t: 'unk' }> => s.t === 'unk');
}

export function firstUnknown(val: Val): string | undefined {
  for (const s of val) if (s.t === 'unk') return s.why;
  return undefined;
}

/** The text when fully concrete. */
export function concrete(val: Val): string | undefined {
  let out = '';
  for (const s of val) {
    if (s.t !== 'str') return undefined;
    out += s.v;
  }
  return out;
}

/** Text for evidence: the caller's PATH as `$PATH`, unknown parts as `<unknown:…>`. */
export function renderVal(val: Val): string {
  return val
    .map((s) =>
      s.t === 'str'
        ? s.v
        : s.t === 'inh'
          ? s.without.length
            ? `$PATH[without ${s.without.join(',')}]`
            : '$PATH'
          : `<unknown:${s.why}>`,
    )
    .join('');
}

export function sameVal(a: Val | null | undefined, b: Val | null | undefined): boolean {
  return JSON.stringify(a === undefined ? 'absent' : a) === JSON.stringify(b === undefined ? 'absent' : b);
}

/** Whether the value is non-empty: true/false, or undefined when an unknown part decides it. */
export function nonEmpty(val: Val): boolean | undefined {
  let sawUnknown = false;
  for (const s of val) {
    if (s.t === 'str' && s.v !== '') return true;
    if (s.t === 'inh') return true;
    if (s.t === 'unk') sawUnknown = true;
  }
  return sawUnknown ? undefined : false;
}

// ---- patterns (the word after # % / in ${…}) ----

/** A pattern character: `lit` when it came from quotes/backslash or is not a glob metacharacter. */
export interface PatChar {
  c: string;
  lit: boolean;
}

export function isLiteralPattern(p: PatChar[]): boolean {
  return p.every((x) => x.lit || !'*?['.includes(x.c));
}

function patternRegex(p: PatChar[], greedy: boolean): string {
  let re = '';
  for (let i = 0; i < p.length; i++) {
    const { c, lit } = p[i];
    if (!lit && c === '*') re += greedy ? '[\\s\\S]*' : '[\\s\\S]*?';
    else if (!lit && c === '?') re += '[\\s\\S]';
    else if (!lit && c === '[') {
      let j = i + 1;
      let cls = '';
      if (p[j] && !p[j].lit && (p[j].c === '!' || p[j].c === '^')) {
        cls += '^';
        j++;
      }
      while (j < p.length && !(p[j].c === ']' && !p[j].lit && cls.replace('^', '') !== '')) {
        cls += p[j].c.replace(/[\\\]]/g, '\\$&');
        j++;
      }
      if (j >= p.length) re += '\\[';
      else {
        re += `[${cls}]`;
        i = j;
      }
    } else re += c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  return re;
}

/** `${v#p}` `${v##p}` `${v%p}` `${v%%p}` on a concrete string. */
function trimConcrete(s: string, p: PatChar[], fromStart: boolean, longest: boolean): string {
  const re = new RegExp(`^(?:${patternRegex(p, true)})$`);
  const lens = [...Array(s.length + 1).keys()];
  if (longest) lens.reverse();
  for (const n of lens) {
    const piece = fromStart ? s.slice(0, n) : s.slice(s.length - n);
    if (re.test(piece)) return fromStart ? s.slice(n) : s.slice(0, s.length - n);
  }
  return s;
}

export function trim(val: Val, p: PatChar[], fromStart: boolean, longest: boolean, what: string): Val {
  const text = concrete(val);
  if (text !== undefined) return str(trimConcrete(text, p, fromStart, longest));
  const u = firstUnknownSeg(val);
  if (u) return [u];
  // Symbolic value with the caller's PATH: only a literal pattern against the concrete end is decidable.
  if (!isLiteralPattern(p)) return unk(`${what}: glob pattern on a value holding the caller's PATH`);
  const pat = p.map((x) => x.c).join('');
  if (pat === '') return val;
  const segs = norm(val);
  const edge = fromStart ? segs[0] : segs[segs.length - 1];
  if (edge && edge.t === 'str') {
    if (fromStart ? edge.v.startsWith(pat) : edge.v.endsWith(pat)) {
      const rest = fromStart ? edge.v.slice(pat.length) : edge.v.slice(0, edge.v.length - pat.length);
      return norm(
        fromStart ? [{ t: 'str', v: rest }, ...segs.slice(1)] : [...segs.slice(0, -1), { t: 'str', v: rest }],
      );
    }
    if (edge.v.length >= pat.length || !(fromStart ? pat.startsWith(edge.v) : pat.endsWith(edge.v))) return val;
    return unk(`${what}: pattern reaches into the caller's PATH`);
  }
  // The edge is the caller's PATH itself, which neither starts nor ends with ':' (see the assumption above).
  if (pat.startsWith(':') && fromStart) return val;
  if (pat.endsWith(':') && !fromStart) return val;
  return unk(`${what}: pattern applied to the caller's PATH`);
}

/** `${v/p/r}` (first match) and `${v//p/r}` (all) on concrete values; the makeWrapper de-dup idiom symbolically. */
export function replace(val: Val, p: PatChar[], repl: Val, all: boolean, anchor: '' | '#' | '%', what: string): Val {
  const text = concrete(val);
  const replText = concrete(repl);
  if (text !== undefined && replText !== undefined) {
    if (p.length === 0) return val;
    const body = patternRegex(p, true);
    const re = new RegExp(anchor === '#' ? `^(?:${body})` : anchor === '%' ? `(?:${body})$` : body, all ? 'g' : '');
    return str(text.replace(re, () => replText));
  }
  const u = firstUnknownSeg(val) ?? firstUnknownSeg(repl);
  if (u) return [u];
  if (!isLiteralPattern(p) || anchor !== '' || all || replText !== ':')
    return unk(`${what}: substitution on a value holding the caller's PATH`);
  const pat = p.map((x) => x.c).join('');
  const m = /^:([^:]+):$/.exec(pat);
  const segs = norm(val);
  const inhAt = segs.findIndex((s) => s.t === 'inh');
  const pre = segs
    .slice(0, inhAt)
    .map((s) => (s as { v: string }).v)
    .join('');
  // A match wholly inside the text before the caller's PATH comes first.
  const inPre = pre.indexOf(pat);
  if (inPre >= 0 && inPre + pat.length <= pre.length) {
    return norm([{ t: 'str', v: pre.slice(0, inPre) + ':' + pre.slice(inPre + pat.length) }, ...segs.slice(inhAt)]);
  }
  const post = segs.slice(inhAt + 1);
  if (!m || segs.filter((s) => s.t === 'inh').length !== 1 || !pre.endsWith(':') || post.some((s) => s.t !== 'str')) {
    return unk(`${what}: substitution whose result depends on the caller's PATH`);
  }
  const postText = post.map((s) => (s as { v: string }).v).join('');
  if (!postText.startsWith(':')) return unk(`${what}: substitution whose result depends on the caller's PATH`);
  // `:dir:` now matches the first `dir` entry of the caller's PATH if there is one; only if there is none
  // could it match later text, which would make the result depend on the caller's PATH.
  if (postText.includes(pat)) return unk(`${what}: result depends on whether the caller's PATH contains ${m[1]}`);
  const inh = segs[inhAt] as { t: 'inh'; without: string[] };
  return norm([...segs.slice(0, inhAt), { t: 'inh', without: [...inh.without, m[1]] }, ...post]);
}

// ---- PATH ----

/** Splits a PATH value into entries; the caller's PATH must stand as whole entries. */
export function toPathValue(val: Val | null | undefined, unsetReason: string): PathValue {
  if (val === null || val === undefined) return { unknown: unsetReason };
  const u = val.find((s) => s.t === 'unk') as { why: string; reason?: string } | undefined;
  if (u) {
    // A reason about PATH itself (conditional assignment, eval) stands alone; otherwise name the piece.
    if (u.reason?.startsWith('PATH ')) return { unknown: u.reason };
    return { unknown: `PATH contains ${u.why}${u.reason ? ` (${u.reason})` : ''}, known only at run time` };
  }
  const entries: PathEntry[] = [];
  let buf = '';
  let pendingInh: { without: string[] } | undefined;
  let atBoundary = true; // just after the start or a ':'
  for (const s of norm(val)) {
    if (s.t === 'inh') {
      if (!atBoundary || buf !== '' || pendingInh)
        return { unknown: `the caller's PATH is glued to other text: ${renderVal(val)}` };
      pendingInh = { without: s.without };
      atBoundary = false;
      continue;
    }
    if (s.t !== 'str') continue;
    const pieces = s.v.split(':');
    for (let k = 0; k < pieces.length; k++) {
      if (k > 0) {
        entries.push(
          pendingInh
            ? { inherited: true, ...(pendingInh.without.length ? { without: pendingInh.without } : {}) }
            : { dir: buf },
        );
        pendingInh = undefined;
        buf = '';
      }
      if (pendingInh && pieces[k] !== '')
        return { unknown: `the caller's PATH is glued to other text: ${renderVal(val)}` };
      buf += pieces[k];
    }
    atBoundary = s.v.endsWith(':');
  }
  entries.push(
    pendingInh
      ? { inherited: true, ...(pendingInh.without.length ? { without: pendingInh.without } : {}) }
      : { dir: buf },
  );
  return { entries };
}

/** The segments a PATH entry list stands for (the starting PATH). */
export function fromPathEntries(entries: PathEntry[]): Val {
  const out: Val = [];
  entries.forEach((e, n) => {
    if (n > 0) out.push({ t: 'str', v: ':' });
    out.push('dir' in e ? { t: 'str', v: e.dir } : { t: 'inh', without: e.without ?? [] });
  });
  return norm(out);
}
