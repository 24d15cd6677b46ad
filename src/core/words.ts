/** words(): the one tokenizer of Baton's lexical search (tool search, both memory indexes), for text in any script. */

const wordPattern = /[\p{L}\p{M}\p{N}]+/gu;

/**
 * The lower-cased words of a text: runs of letters, combining marks and digits of any script,
 * split at everything else, as SQLite FTS5's `unicode61` tokenizer splits them. Marks belong to
 * their word, so a Devanagari or Thai word does not fall apart at its vowel signs. Lives in the
 * kernel because store adapters (the SQLite memory index) split queries with it too.
 *
 * @example
 * ```ts
 * words('Order A-1001: Возврат платежа'); // ['order', 'a', '1001', 'возврат', 'платежа']
 * ```
 */
export function words(text: string): string[] {
  return text.toLowerCase().match(wordPattern) ?? [];
}
