/** Tools of the draft-review-polish team: a text analyzer (length, readability, hype words, prices, dates, links). */

import { tool } from 'batonjs';
import { z } from 'zod';

/** Words the style guide bans from customer emails. */
export const hypeWords = [
  'exciting',
  'excited',
  'thrilled',
  'amazing',
  'game-changing',
  'revolutionary',
  'incredible',
  'awesome',
  'delighted',
];

/** Syllables of an English word, by the usual vowel-group heuristic (good enough for readability scores). */
export function syllables(word: string): number {
  const lower = word.toLowerCase().replace(/[^a-z]/g, '');
  if (lower.length === 0) return 0;
  if (lower.length <= 3) return 1;
  const trimmed = lower.replace(/(?:[^laeiouy]es|ed|[^laeiouy]e)$/, '').replace(/^y/, '');
  return Math.max(1, trimmed.match(/[aeiouy]{1,2}/g)?.length ?? 1);
}

/** Splits text into sentences (ends at . ! ? followed by space or end; a line on its own counts as one). */
function sentencesOf(text: string): string[] {
  return text
    .split(/\n+/)
    .flatMap((line) => line.split(/(?<=[.!?])\s+(?=[A-Z0-9"'“])/))
    .map((sentence) => sentence.trim())
    .filter((sentence) => /[A-Za-z]/.test(sentence));
}

/** Measures a text against the style guide. */
export function analyze(text: string) {
  const withoutLinks = text.replace(/https?:\/\/\S+/g, 'link');
  const words =
    withoutLinks.match(/[A-Za-z0-9][A-Za-z0-9'’$.,-]*/g)?.map((word) => word.replace(/[.,]+$/, '')) ?? [];
  const sentences = sentencesOf(withoutLinks);
  const syllableCount = words.reduce((sum, word) => sum + syllables(word), 0);
  const wordsPerSentence = words.length / Math.max(1, sentences.length);
  const flesch = 206.835 - 1.015 * wordsPerSentence - 84.6 * (syllableCount / Math.max(1, words.length));
  const lower = text.toLowerCase();
  return {
    words: words.length,
    sentences: sentences.length,
    averageWordsPerSentence: Number(wordsPerSentence.toFixed(1)),
    fleschReadingEase: Number(flesch.toFixed(1)),
    readability:
      flesch >= 70
        ? 'easy'
        : flesch >= 60
          ? 'plain English'
          : flesch >= 50
            ? 'fairly difficult'
            : 'difficult',
    hypeWords: hypeWords.filter((word) => new RegExp(`\\b${word}\\b`).test(lower)),
    prices: text.match(/\$\d+(?:\.\d{2})?/g) ?? [],
    dates:
      text.match(
        /\b\d{1,2} (?:January|February|March|April|May|June|July|August|September|October|November|December) \d{4}\b/g,
      ) ?? [],
    links: text.match(/https?:\/\/\S+[^\s.,)]/g) ?? [],
  };
}

/** The analyzer as a tool. */
export const analyzeText = tool({
  name: 'analyze_text',
  description: `Measure a text against the style guide: word and sentence counts, average sentence length, Flesch reading ease (60+ is plain English), banned hype words found (${hypeWords.join(', ')}), and the prices, dates ("1 March 2027") and links it contains.`,
  input: z.object({ text: z.string().min(1).describe('The full text to measure') }),
  idempotent: true,
  execute: ({ text }) => analyze(text),
});
