// The decoder inside unbzip2-stream (its stream wrapper buffers whole blocks; the verifier needs a byte bound).
declare module 'unbzip2-stream/lib/bzip2.js' {
  type Bits = ((n: number | null) => number) & { bytesRead: number };
  const bzip2: {
    /** Reads the stream header; returns the block size in units of 100 000 bytes. */
    header(bits: Bits): number;
    /** Decodes one block to `stream` byte by byte; null at the end of the stream (its CRC checked). */
    decompress(
      bits: Bits,
      stream: (byte: number) => void,
      buf: Int32Array,
      bufsize: number,
      streamCRC: number,
    ): number | null;
  };
  export default bzip2;
}
declare module 'unbzip2-stream/lib/bit_iterator.js' {
  const bitIterator: (nextBuffer: () => Buffer) => ((n: number | null) => number) & { bytesRead: number };
  export default bitIterator;
}
