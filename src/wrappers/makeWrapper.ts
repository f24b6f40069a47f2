// nixpkgs' make-wrapper.sh as a function: the wrapper script `makeWrapper`/`wrapProgram` write, from their
// arguments. Eval mode renders it from a derivation's calls; build mode reads the file the build wrote; the
// shell analyzer reads both. See ./index.ts for the contract and its sources.

/** bash's `${value@Q}`: a single-quoted word (`'` written `'\''`); control characters use `$'…'`. */
export function bashQuote(value: string): string {
  if (/[\x00-\x1f\x7f]/.test(value)) {
    // eslint-disable-next-line @typescript-eslint/no-misused-spread -- code points, as bash quotes characters
    const body = [...value]
      .map((c) => {
        const code = c.charCodeAt(0);
        if (c === "'" || c === '\\') return `\\${c}`;
        if (c === '\n') return '\\n';
        if (c === '\t') return '\\t';
        return code < 0x20 || code === 0x7f ? `\\${code.toString(8).padStart(3, '0')}` : c;
      })
      .join('');
    return `$'${body}'`;
  }
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

export interface RenderedWrapper {
  /** The wrapper script, as make-wrapper.sh writes it. */
  text: string;
  /** `--run` commands copied into it (shell text that runs before the program). */
  runCommands: string[];
  /** `--prefix-contents`/`--suffix-contents`: values read from files at build time. */
  buildTimeFiles: string[];
}

export type RenderResult = ({ ok: true } & RenderedWrapper) | { ok: false; reason: string };

/** Blank-separated words, as bash splits an unquoted `$values` (default IFS; globbing is not modelled). */
const splitBlanks = (s: string): string[] => s.split(/[ \t\n]+/).filter((w) => w !== '');

/**
 * make-wrapper.sh's `addValue`: for each `separator`-separated item of `value` (in written order for
 * `--prefix`), lines that add it to `varName` once. Empty `value`: nothing.
 */
function addValue(mode: 'prefix' | 'suffix', varName: string, separator: string, value: string): string[] {
  if (value === '') return [];
  // `IFS=$separator; for v in $value`: split on the separator's characters; empty fields between
  // separators are kept by bash when IFS is not blank, except a trailing one.
  let items = separator === '' ? [value] : value.split(new RegExp(`[${separator.replace(/[\\\]^-]/g, '\\$&')}]`));
  if (items.length > 1 && items[items.length - 1] === '') items = items.slice(0, -1);
  // --prefix keeps the written order: make-wrapper.sh reverses the items before prepending each.
  if (mode === 'prefix') items = [...items].reverse();
  const sep = bashQuote(separator);
  const out: string[] = [];
  for (const v of items) {
    out.push(`${varName}=\${${varName}:+${sep}$${varName}${sep}}`);
    if (mode === 'prefix') {
      out.push(`${varName}=\${${varName}/${sep}${bashQuote(v)}${sep}/${sep}}`);
      out.push(`${varName}=${bashQuote(v)}$${varName}`);
    } else {
      out.push(`if [[ $${varName} != *${sep}${bashQuote(v)}${sep}* ]]; then`);
      out.push(`    ${varName}=$${varName}${bashQuote(v)}`);
      out.push('fi');
    }
    out.push(`${varName}=\${${varName}#${sep}}`);
    out.push(`${varName}=\${${varName}%${sep}}`);
    out.push(`export ${varName}`);
  }
  return out;
}

/**
 * `makeWrapper ORIGINAL WRAPPER ARGS…` (makeShellWrapper): the text written to WRAPPER. `shell` is what
 * `@shell@` became (stdenv's bash). Flags make-wrapper.sh refuses (it `die`s: the build fails) give ok:false.
 */
export function renderMakeWrapper(original: string, args: readonly string[], shell: string): RenderResult {
  const lines = [`#! ${shell} -e`];
  const runCommands: string[] = [];
  const buildTimeFiles: string[] = [];
  let flagsBefore: string | undefined;
  let flagsAfter: string | undefined;
  let argv0: string | undefined;
  const need = (n: number, k: number, flag: string): string | undefined =>
    k + n < args.length ? undefined : `${flag} needs ${n} argument${n === 1 ? '' : 's'}`;
  for (let k = 0; k < args.length; k++) {
    const p = args[k];
    const arity: Record<string, number> = {
      '--set': 2,
      '--set-default': 2,
      '--unset': 1,
      '--chdir': 1,
      '--run': 1,
      '--prefix': 3,
      '--suffix': 3,
      '--prefix-each': 3,
      '--suffix-each': 3,
      '--prefix-contents': 3,
      '--suffix-contents': 3,
      '--add-flags': 1,
      '--append-flags': 1,
      '--argv0': 1,
      '--inherit-argv0': 0,
      '--resolve-argv0': 0,
    };
    if (!(p in arity)) return { ok: false, reason: `makeWrapper doesn't understand the arg ${p} (the build fails)` };
    const missing = need(arity[p], k, p);
    if (missing) return { ok: false, reason: `${missing} (the build fails)` };
    const a = args.slice(k + 1, k + 1 + arity[p]);
    k += arity[p];
    switch (p) {
      case '--set':
        lines.push(`export ${a[0]}=${bashQuote(a[1])}`);
        break;
      case '--set-default':
        lines.push(`export ${a[0]}=\${${a[0]}-${bashQuote(a[1])}}`);
        break;
      case '--unset':
        lines.push(`unset ${a[0]}`);
        break;
      case '--chdir':
        lines.push(`cd ${bashQuote(a[0])}`);
        break;
      case '--run':
        lines.push(a[0]);
        runCommands.push(a[0]);
        break;
      case '--prefix':
      case '--suffix':
        lines.push(...addValue(p === '--prefix' ? 'prefix' : 'suffix', a[0], a[1], a[2]));
        break;
      case '--prefix-each':
      case '--suffix-each':
        for (const v of splitBlanks(a[2]))
          lines.push(...addValue(p === '--prefix-each' ? 'prefix' : 'suffix', a[0], a[1], v));
        break;
      case '--prefix-contents':
      case '--suffix-contents':
        buildTimeFiles.push(...splitBlanks(a[2]));
        break;
      case '--add-flags':
        flagsBefore = `${flagsBefore ?? ''} ${a[0]}`;
        break;
      case '--append-flags':
        flagsAfter = `${flagsAfter ?? ''} ${a[0]}`;
        break;
      case '--argv0':
        argv0 = a[0]!;
        break;
      case '--inherit-argv0':
      case '--resolve-argv0':
        // --resolve-argv0 writes a lookup of $0 before the exec; for PATH and program it is --inherit-argv0.
        argv0 = '$0';
        break;
    }
  }
  // `echo exec ${argv0:+-a "$argv0"} "$original" "${flagsBefore-}" '"$@"' "${flagsAfter-}"`: echo joins with blanks.
  lines.push(
    ['exec', ...(argv0 ? ['-a', `"${argv0}"`] : []), `"${original}"`, flagsBefore ?? '', '"$@"', flagsAfter ?? ''].join(
      ' ',
    ),
  );
  return { ok: true, text: `${lines.join('\n')}\n`, runCommands, buildTimeFiles };
}

/** wrapProgram's hidden name for PROG: `<dir>/.<base>-wrapped`, with `_` appended while that name exists. */
export function hiddenName(prog: string, exists: (p: string) => boolean): string {
  const slash = prog.lastIndexOf('/');
  let hidden = `${slash >= 0 ? prog.slice(0, slash) : '.'}/.${prog.slice(slash + 1)}-wrapped`;
  while (exists(hidden)) hidden = `${hidden}_`;
  return hidden;
}

/**
 * make-wrapper.sh's `--suffix` block (`if [[ $V != *SEP'v'SEP* ]]; then V=$V'v'; fi`) in a wrapper script, rewritten
 * line for line to `V=${V/SEP'v'SEP/SEP}` / `V=$V'v'` / `:`: "v is on V, after the caller's entries". Which
 * directories are on PATH is exact; v's place among the caller's own entries (where the caller had it) is not
 * modelled. Other text is left as it is.
 */
export function readSuffixBlocks(text: string): { text: string; lines: number[] } {
  const lines = text.split('\n');
  const rewritten: number[] = [];
  for (let i = 0; i + 2 < lines.length; i++) {
    const m = /^if \[\[ \$([A-Za-z_][A-Za-z0-9_]*) != \*('(?:[^']|'\\'')*')('(?:[^']|'\\'')*')\2\* \]\]; then$/.exec(
      lines[i],
    );
    if (!m) continue;
    const [, name, sep, value] = m;
    if (lines[i + 1].trim() !== `${name}=$${name}${value}` || lines[i + 2].trim() !== 'fi') continue;
    lines[i] = `${name}=\${${name}/${sep}${value}${sep}/${sep}}`;
    lines[i + 1] = `${name}=$${name}${value}`;
    lines[i + 2] = ':';
    rewritten.push(i + 1);
  }
  return { text: lines.join('\n'), lines: rewritten };
}
