import type { DefectKind } from '../../contract/manifest';
import type { Rng } from './prng';

/**
 * Makes clean display text dirty in one of the ways normaliseText (or a case-insensitive key) undoes.
 * Returns the kind actually planted: Unicode decomposition only changes text with accents, so other
 * text falls back to whitespace and the manifest still counts what is really in the file.
 */
export function dirtyText(rng: Rng, text: string): { text: string; kind: DefectKind } {
  const u = rng.next();
  if (u < 0.34) return { text: text.toUpperCase() === text ? text.toLowerCase() : text.toUpperCase(), kind: 'text_case' };
  if (u < 0.67) {
    const nfd = text.normalize('NFD');
    if (nfd !== text) return { text: nfd, kind: 'text_unicode' };
  }
  const padded = rng.chance(0.5) ? `  ${text} ` : text.replace(' ', '   ');
  return { text: padded === text ? ` ${text}` : padded, kind: 'text_whitespace' };
}

/** Strips accents for e-mail local parts, which are ASCII in practice. */
export function asciiSlug(text: string): string {
  return text.normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase().replace(/[^a-z0-9]+/g, '.');
}
