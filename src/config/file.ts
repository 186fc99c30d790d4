import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from 'node:fs';

/** A file we refuse to read, with the reason as a sentence for the user. */
export class FileRefusedError extends Error {}

function kindOf(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a file';
}

/**
 * Reads a small regular file (symlinks followed, as a mounted Kubernetes Secret is one) and refuses anything
 * else before reading a byte: a FIFO would block for ever, a device like /dev/zero would fill memory. Opened
 * with O_NONBLOCK so even a FIFO swapped in after a check cannot hang the open; checked again on the open file.
 */
export function readBoundedFile(path: string, maxBytes: number, what: string): Buffer {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    throw new FileRefusedError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile())
      throw new FileRefusedError(`${path}: not a regular file (${kindOf(st)}); give the ${what} file itself`);
    if (st.size > maxBytes)
      throw new FileRefusedError(`${path}: ${st.size} bytes is more than the ${maxBytes} a ${what} may have`);
    // Read at most one byte past the limit, in case the file grew after fstat.
    const buf = Buffer.alloc(maxBytes + 1);
    let length = 0;
    while (length < buf.length) {
      const n = readSync(fd, buf, length, buf.length - length, null);
      if (n === 0) break;
      length += n;
    }
    if (length > maxBytes) throw new FileRefusedError(`${path}: more than the ${maxBytes} bytes a ${what} may have`);
    return buf.subarray(0, length);
  } finally {
    closeSync(fd);
  }
}

/** Bytes as UTF-8 text, or undefined when they are not valid UTF-8. */
export function utf8(bytes: Buffer): string | undefined {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    return undefined;
  }
}
