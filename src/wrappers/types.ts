// Shapes shared by the wrapper model's two sources of facts (built files, derivations).

/** What is at a store path, as far as the source knows. */
export type FileFact =
  /** A shell script (`#!…/sh`, `#!…/bash`): the follower reads it. */
  | { kind: 'script'; path: string; text: string; source: string }
  /** A file that is not a shell script: a program; the PATH it starts with is final. */
  | { kind: 'program'; path: string; source: string }
  /** Eval mode: a file of a package built by a builder the model does not read, named like the package. */
  | { kind: 'opaque'; path: string; reason: string }
  /** Eval mode: a file of such a package whose name says nothing about it (taken as absent from a link farm). */
  | { kind: 'unlisted'; path: string; reason: string }
  | { kind: 'missing'; path: string; reason: string }
  | { kind: 'cannot-follow'; reason: string };

/** Where the wrapper model reads files: the built store (build mode) or derivations (eval mode). */
export interface WrapperFiles {
  file(path: string): Promise<FileFact>;
  /** What the source assumed (eval mode: buildEnv members known only by their package names). */
  readonly notes: string[];
}
