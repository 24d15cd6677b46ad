/** Tools of the content-moderation team: a toxicity scorer, spam signals, a PII detector (with checksums) and the community guidelines. */

import { tool } from 'batonjs';
import { z } from 'zod';

const postInput = z.object({ text: z.string().min(1).describe('The full text of the post') });

// ---- toxicity ------------------------------------------------------------------------------------

/** A small lexicon: each entry is a category and a weight (how much one occurrence adds to the score). */
const toxicTerms: Record<
  string,
  { category: 'insult' | 'threat' | 'profanity' | 'harassment'; weight: number }
> = {
  idiot: { category: 'insult', weight: 0.35 },
  stupid: { category: 'insult', weight: 0.3 },
  moron: { category: 'insult', weight: 0.4 },
  loser: { category: 'insult', weight: 0.3 },
  scammer: { category: 'insult', weight: 0.25 },
  'shut up': { category: 'harassment', weight: 0.3 },
  'nobody wants you': { category: 'harassment', weight: 0.5 },
  'kill you': { category: 'threat', weight: 0.9 },
  'hurt you': { category: 'threat', weight: 0.8 },
  'find where you live': { category: 'threat', weight: 0.9 },
  damn: { category: 'profanity', weight: 0.1 },
  crap: { category: 'profanity', weight: 0.15 },
};

/** Scores text for toxicity: 0 (none) to 1, with the terms found and their categories. */
export function toxicity(text: string) {
  const lower = text.toLowerCase();
  const found = Object.entries(toxicTerms).flatMap(([term, entry]) => {
    const count = lower.split(new RegExp(`\\b${term}\\b`)).length - 1;
    return count === 0 ? [] : [{ term, count, ...entry }];
  });
  const score = Math.min(
    1,
    found.reduce((sum, entry) => sum + entry.weight * entry.count, 0),
  );
  return {
    score: Number(score.toFixed(2)),
    level: score >= 0.7 ? 'high' : score >= 0.3 ? 'medium' : score > 0 ? 'low' : 'none',
    categories: [...new Set(found.map((entry) => entry.category))],
    terms: found.map(({ term, count, category }) => ({ term, count, category })),
  };
}

/** Scores a post for insults, threats, harassment and profanity. */
export const scoreToxicity = tool({
  name: 'score_toxicity',
  description:
    'Score a post for toxicity from 0 to 1 (level none/low/medium/high) with the insults, threats, harassment and profanity found.',
  input: postInput,
  idempotent: true,
  execute: ({ text }) => toxicity(text),
});

// ---- spam ----------------------------------------------------------------------------------------

const shorteners = ['bit.ly', 'tinyurl.com', 't.co', 'goo.gl', 'ow.ly', 'is.gd'];
const promoWords = [
  'cheap',
  'deal',
  'deals',
  'discount',
  'free',
  'winner',
  'limited',
  'offer',
  'cash',
  'guaranteed',
];
const contactPhrases = [
  'dm me',
  'text me',
  'whatsapp',
  'telegram',
  'email me',
  'call me',
  'or text',
  'or email',
];

/** Finds spam signals: links (shortened, look-alike domains), promotional words, shouting, contact invitations. */
export function spamSignals(text: string) {
  const lower = text.toLowerCase();
  // Email addresses are personal data, not links: leave them to detect_pii.
  const withoutEmails = lower.replace(/[\w.+-]+@[\w-]+(?:\.[\w-]+)+/g, ' ');
  const urls = withoutEmails.match(/\b(?:https?:\/\/)?(?:[a-z0-9-]+\.)+[a-z]{2,}(?:\/[^\s!?,)]*)?/g) ?? [];
  const signals: Array<{ signal: string; detail: string; weight: number }> = [];
  const shortened = urls.filter((link) =>
    shorteners.some((host) => link.replace(/^https?:\/\//, '').startsWith(`${host}/`)),
  );
  if (shortened.length > 0)
    signals.push({ signal: 'shortened-link', detail: shortened.join(', '), weight: 0.35 });
  // Digits standing in for letters inside a word ("ph0ne", "fr33") is a classic filter-evasion trick.
  const lookAlike = urls.filter((link) => /[a-z]\d+[a-z]/.test(link.replace(/^https?:\/\//, '')));
  if (lookAlike.length > 0)
    signals.push({ signal: 'look-alike-spelling', detail: lookAlike.join(', '), weight: 0.2 });
  const promo = promoWords.filter((word) => new RegExp(`\\b${word}\\b`).test(lower));
  if (promo.length > 0)
    signals.push({ signal: 'promotional-words', detail: promo.join(', '), weight: 0.1 * promo.length });
  const contact = contactPhrases.filter((phrase) => lower.includes(phrase));
  if (contact.length > 0)
    signals.push({ signal: 'contact-off-platform', detail: contact.join(', '), weight: 0.25 });
  const shouting = text.match(/[!?]{3,}/g) ?? [];
  if (shouting.length > 0)
    signals.push({ signal: 'repeated-punctuation', detail: shouting.join(' '), weight: 0.1 });
  const letters = text.replace(/[^A-Za-z]/g, '');
  const capsRatio = letters.length === 0 ? 0 : letters.replace(/[^A-Z]/g, '').length / letters.length;
  if (letters.length >= 20 && capsRatio > 0.5)
    signals.push({ signal: 'all-caps', detail: `${Math.round(capsRatio * 100)}% capitals`, weight: 0.2 });
  const score = Math.min(
    1,
    signals.reduce((sum, entry) => sum + entry.weight, 0),
  );
  return {
    score: Number(score.toFixed(2)),
    likelySpam: score >= 0.5,
    links: urls,
    signals: signals.map(({ signal, detail }) => ({ signal, detail })),
  };
}

/** Checks a post for spam signals. */
export const checkSpamSignals = tool({
  name: 'check_spam_signals',
  description:
    'Check a post for spam signals: shortened or look-alike links, promotional words, invitations to contact off-platform, shouting. Returns a 0-1 score, likelySpam, the links and each signal found.',
  input: postInput,
  idempotent: true,
  execute: ({ text }) => spamSignals(text),
});

// ---- PII -----------------------------------------------------------------------------------------

/** Luhn checksum, used by payment card numbers. */
function luhn(digits: string): boolean {
  let sum = 0;
  for (let index = 0; index < digits.length; index++) {
    let digit = Number(digits[digits.length - 1 - index]);
    if (index % 2 === 1) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
  }
  return sum % 10 === 0;
}

/** IBAN check digits (ISO 13616, mod 97). */
function ibanValid(iban: string): boolean {
  const moved = iban.slice(4) + iban.slice(0, 4);
  const numeric = moved.replace(/[A-Z]/g, (letter) => String(letter.charCodeAt(0) - 55));
  let remainder = 0;
  for (const digit of numeric) remainder = (remainder * 10 + Number(digit)) % 97;
  return remainder === 1;
}

function mask(value: string, keep = 2): string {
  return value.length <= keep * 2
    ? '*'.repeat(value.length)
    : `${value.slice(0, keep)}${'*'.repeat(value.length - keep * 2)}${value.slice(-keep)}`;
}

/** Finds personal data in text: emails, phone numbers, payment cards (Luhn-checked) and IBANs (mod-97-checked). */
export function personalData(text: string) {
  const findings: Array<{ type: string; value: string; at: number }> = [];
  for (const match of text.matchAll(/[\w.+-]+@[\w-]+(?:\.[\w-]+)+/g)) {
    findings.push({ type: 'email', value: mask(match[0], 3), at: match.index });
  }
  for (const match of text.matchAll(
    /(?<![\d-])(?:\+?1[\s.-]?)?\(?\d{3}\)?[\s.-]\d{3}[\s.-]\d{4}(?![\d-])/g,
  )) {
    findings.push({ type: 'phone', value: mask(match[0].replace(/\D/g, ''), 2), at: match.index });
  }
  // Card numbers are searched outside IBAN-shaped tokens, whose digits can pass the Luhn check by chance.
  const withoutIbans = text.replace(/\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b/g, (token) =>
    ' '.repeat(token.length),
  );
  for (const match of withoutIbans.matchAll(/\b(?:\d[ -]?){13,19}\b/g)) {
    const digits = match[0].replace(/\D/g, '');
    if (digits.length >= 13 && luhn(digits))
      findings.push({ type: 'payment-card', value: mask(digits, 4), at: match.index });
  }
  for (const match of text.matchAll(/\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b/g)) {
    const iban = match[0].replace(/ /g, '');
    if (ibanValid(iban)) findings.push({ type: 'iban', value: mask(iban, 4), at: match.index });
  }
  findings.sort((a, b) => a.at - b.at);
  return {
    found: findings.length > 0,
    types: [...new Set(findings.map((finding) => finding.type))],
    findings: findings.map(({ type, value }) => ({ type, value })),
  };
}

/** Detects personal data in a post; values come back masked. */
export const detectPii = tool({
  name: 'detect_pii',
  description:
    'Detect personal data in a post: email addresses, phone numbers, payment card numbers (Luhn-checked) and IBANs (checksum-checked). Values are returned masked.',
  input: postInput,
  idempotent: true,
  execute: ({ text }) => personalData(text),
});

// ---- policy --------------------------------------------------------------------------------------

interface Rule {
  id: string;
  title: string;
  rule: string;
  action: 'allow' | 'review' | 'remove';
  keywords: string[];
}

const guidelines: Rule[] = [
  {
    id: '3.1',
    title: 'Off-platform sales',
    rule: 'Listings and posts must not ask buyers to pay or arrange a sale outside the marketplace (phone, email, messaging apps, other sites): buyers lose purchase protection. Remove the post and send the seller the off-platform template.',
    action: 'remove',
    keywords: ['off-platform', 'sale', 'sales', 'selling', 'payment', 'fees', 'contact', 'outside'],
  },
  {
    id: '4.2',
    title: 'Personal information',
    rule: "Do not post anyone's contact details, address, or financial information, including your own in public posts (use private messages). Remove the post; the author may repost without it.",
    action: 'remove',
    keywords: ['personal', 'information', 'pii', 'contact', 'details', 'phone', 'email', 'address'],
  },
  {
    id: '2.1',
    title: 'Harassment and insults',
    rule: 'Criticise products and transactions, not people. Insults aimed at a member go to review; threats are removed and the account is suspended.',
    action: 'review',
    keywords: ['harassment', 'insult', 'insults', 'threat', 'abuse', 'toxicity'],
  },
  {
    id: '5.4',
    title: 'Spam and link farming',
    rule: 'Promotional posts that link to outside shops, shortened links and repeated posts are removed.',
    action: 'remove',
    keywords: ['spam', 'links', 'link', 'promotion', 'promotional', 'advertising'],
  },
  {
    id: '6.1',
    title: 'Reviews of sellers',
    rule: 'Honest reviews of a transaction are allowed and encouraged, including negative ones, if they describe the experience and do not name-call.',
    action: 'allow',
    keywords: ['review', 'reviews', 'seller', 'feedback', 'experience'],
  },
];

/** Looks up the community guidelines that match a topic. */
export const lookupPolicy = tool({
  name: 'lookup_policy',
  description:
    'Look up the marketplace community guidelines for a topic (e.g. "off-platform sales", "personal information", "harassment", "spam", "seller reviews"). Returns the matching rules with their default action (allow, review, remove), best match first.',
  input: z.object({ topic: z.string().min(2).describe('What the post might violate, in a few words') }),
  idempotent: true,
  execute: ({ topic }) => {
    const words = topic
      .toLowerCase()
      .split(/[^a-z-]+/)
      .filter((word) => word.length > 1);
    const matches = guidelines
      .map((rule) => ({ rule, score: words.filter((word) => rule.keywords.includes(word)).length }))
      .filter((entry) => entry.score > 0)
      .sort((a, b) => b.score - a.score)
      .map(({ rule: { keywords: _keywords, ...rule } }) => rule);
    if (matches.length === 0) {
      throw new Error(
        `No guideline matches "${topic}". Topics: ${guidelines.map((rule) => rule.title.toLowerCase()).join(', ')}.`,
      );
    }
    return { topic, rules: matches };
  },
});
