// Store derivations read from their files, without a nix process. A `.drv` path names its contents (its hash is the
// hash of the text), so a file of that name in /nix/store is that derivation, whichever store or daemon wrote it; the
// verifier reads derivations from /nix/store on this filesystem already (nix_options refuses --store/--eval-store).
//
// Format (Nix 2.8 … 2.34, libstore/derivations.cc printDerivation/parseDerivation, "ATerm"):
//   Derive([("out","/nix/store/…-x","","")…],[("/nix/store/…-y.drv",["out"])…],["/nix/store/…-src"…],
//          "x86_64-linux","/nix/store/…/bin/bash",["-e","…"],[("name","value")…])
// Strings escape `"` `\` as `\"` `\\` and newline, CR, tab as `\n` `\r` `\t`. Anything else (a `DrvWithVersion(…)`
// of dynamic derivations, an output list that is not a plain string list) is not read here: the caller asks nix.
//
// What `nix path-info -r --derivation` answers is the closure over the store references of each .drv, which Nix
// records as the drv's inputSrcs and inputDrvs (writeDerivation). Sources are leaves here: a source added to the
// store (a path, builtins.toFile) can never refer to a derivation (toFile refuses derivation contexts), so which
// derivations are in the closure is exactly what nix answers; a source's own references are not listed.
import { readFileSync } from 'node:fs';

export interface ParsedDerivation {
  /** output name -> store path ("" for outputs whose path is only known after the build: omitted). */
  outputs: Record<string, string>;
  inputDrvs: string[];
  inputSrcs: string[];
  env: Record<string, string>;
}

/** A derivation's ATerm text as a record, or undefined when it is not in the plain form read here. */
export function parseDerivation(text: string): ParsedDerivation | undefined {
  let at = 0;
  const fail = (): never => {
    throw new SyntaxError(`unexpected input at ${at}`);
  };
  const expect = (word: string): void => {
    if (!text.startsWith(word, at)) fail();
    at += word.length;
  };
  const str = (): string => {
    expect('"');
    let out = '';
    for (;;) {
      const quote = text.indexOf('"', at);
      const slash = text.indexOf('\\', at);
      if (quote < 0) fail();
      if (slash < 0 || quote < slash) {
        out += text.slice(at, quote);
        at = quote + 1;
        return out;
      }
      out += text.slice(at, slash);
      const c = text[slash + 1];
      out += c === 'n' ? '\n' : c === 'r' ? '\r' : c === 't' ? '\t' : c;
      at = slash + 2;
    }
  };
  const list = <T>(item: () => T): T[] => {
    expect('[');
    const items: T[] = [];
    while (text[at] !== ']') {
      if (items.length) expect(',');
      items.push(item());
    }
    at++;
    return items;
  };
  const tuple = <T>(body: () => T): T => {
    expect('(');
    const v = body();
    expect(')');
    return v;
  };
  try {
    expect('Derive(');
    const outputs: Record<string, string> = {};
    for (const [name, p] of list(() =>
      tuple(() => {
        const name = str();
        expect(',');
        const p = str();
        expect(',');
        str();
        expect(',');
        str();
        return [name, p] as const;
      }),
    ))
      if (p !== '') outputs[name] = p;
    expect(',');
    const inputDrvs = list(() =>
      tuple(() => {
        const p = str();
        expect(',');
        list(str);
        return p;
      }),
    );
    expect(',');
    const inputSrcs = list(str);
    expect(',');
    str(); // system
    expect(',');
    str(); // builder
    expect(',');
    list(str); // args
    expect(',');
    const env: Record<string, string> = {};
    for (const [k, v] of list(() =>
      tuple(() => {
        const k = str();
        expect(',');
        return [k, str()] as const;
      }),
    ))
      env[k] = v;
    expect(')');
    if (at !== text.length) fail();
    return { outputs, inputDrvs, inputSrcs, env };
  } catch {
    return undefined;
  }
}

const DRV = /^\/nix\/store\/[0-9a-df-np-sv-z]{32}-[A-Za-z0-9+\-._?=]+\.drv$/;

/** The derivation at a store path, read from its file; undefined when it is not there or not in the plain form. */
export function readDerivation(drvPath: string, read: (p: string) => string = readText): ParsedDerivation | undefined {
  if (!DRV.test(drvPath)) return undefined;
  let text: string;
  try {
    text = read(drvPath);
  } catch {
    return undefined;
  }
  return parseDerivation(text);
}

const readText = (p: string): string => readFileSync(p, 'utf8');

/**
 * Every .drv `drvPath` is built from, itself included, with the sources each lists (see the header); undefined when a
 * derivation of the closure cannot be read here (the caller asks nix). Sorted, as nix lists store paths.
 */
export function derivationClosure(
  drvPath: string,
  read: (p: string) => Pick<ParsedDerivation, 'inputDrvs' | 'inputSrcs'> | undefined = (p) => readDerivation(p),
): string[] | undefined {
  const seen = new Set<string>([drvPath]);
  const stack = [drvPath];
  while (stack.length) {
    const d = read(stack.pop()!);
    if (!d) return undefined;
    for (const src of d.inputSrcs) seen.add(src);
    for (const input of d.inputDrvs)
      if (!seen.has(input)) {
        seen.add(input);
        stack.push(input);
      }
  }
  return [...seen].sort();
}
