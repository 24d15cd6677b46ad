/** Tools of the contract pipeline: a template and clause library, and a regulation checker that tests a clause against a checklist. */

import { tool } from 'batonjs';
import { z } from 'zod';

interface Template {
  title: string;
  version: string;
  /** When to use it; shown in the catalogue. */
  use: string;
  text: string;
}

const templates: Record<string, Template> = {
  'mutual-nda': {
    title: 'Mutual Non-Disclosure Agreement',
    version: '4.2 (2025-06)',
    use: 'Both parties disclose confidential information, e.g. to evaluate a joint product.',
    text: `MUTUAL NON-DISCLOSURE AGREEMENT

This Agreement is made on {{EFFECTIVE_DATE}} between {{PARTY_A}} ("{{PARTY_A_SHORT}}") and {{PARTY_B}} ("{{PARTY_B_SHORT}}"), each a "Party".

1. Purpose. The Parties will exchange information to {{PURPOSE}} (the "Purpose").

2. Confidential Information. Non-public information a Party (the "Discloser") gives the other (the "Recipient") for the Purpose that is marked confidential or is obviously confidential, except information that is public through no fault of the Recipient, already lawfully known to it, lawfully received from a third party, or independently developed.

3. Obligations. The Recipient will use Confidential Information only for the Purpose, protect it with at least reasonable care, and share it only with staff and advisers who need it and are bound by equivalent duties. It may disclose what a law or court requires, after telling the Discloser where lawful.

4. Term. Disclosures made within {{DISCLOSURE_YEARS}} of this Agreement are covered; the duties in clause 3 last {{SURVIVAL_YEARS}} after each disclosure, and for trade secrets while they remain secret.

5. Return. On request, or when the disclosure period ends, the Recipient will return or destroy Confidential Information, except backup or legally required copies, which stay confidential.

6. [[CLAUSE:data-protection]]

7. [[CLAUSE:export-control]]

8. General. No licence or warranty is given. The Discloser may seek injunctive relief. This Agreement is governed by {{GOVERNING_LAW}}; the courts of {{VENUE}} have exclusive jurisdiction.`,
  },
  'one-way-nda': {
    title: 'One-way Non-Disclosure Agreement',
    version: '3.0 (2024-02)',
    use: 'Only one party discloses, e.g. a supplier receiving specifications.',
    text: 'ONE-WAY NON-DISCLOSURE AGREEMENT\n\n(Shortened in this example: use mutual-nda.)',
  },
  'clause/data-protection': {
    title: 'Clause: personal data shared between independent controllers',
    version: '2.1 (2021-03)',
    use: 'Confidential Information may include personal data; each party decides what it does with the data it receives.',
    text: `Data protection. Each Party is an independent controller of personal data it receives and will process it under {{DATA_PROTECTION_LAW}}, only for the Purpose and on a lawful basis. The Discloser will share only the personal data needed, pseudonymised where possible. The Recipient will apply appropriate technical and organisational measures and delete the data when no longer needed. {{TRANSFER_SENTENCE}}`,
  },
  'clause/export-control': {
    title: 'Clause: export control',
    version: '1.4 (2024-09)',
    use: 'Technical information may be subject to export control (EU, US or UK).',
    text: `Export control. Each Party will comply with applicable export control and sanctions laws, including {{EXPORT_LAWS}}. The Discloser will notify the Recipient in writing of the classification of any controlled item before disclosing it. Neither Party will transfer Confidential Information to a sanctioned country or person.`,
  },
};

/** Lists the slots of a template text: `{{NAME}}` placeholders and `[[CLAUSE:id]]` clause slots, in order, without repeats. */
export function slotsOf(text: string): { placeholders: string[]; clauseSlots: string[] } {
  const unique = (pattern: RegExp): string[] => [
    ...new Set([...text.matchAll(pattern)].map((match) => match[1] as string)),
  ];
  return { placeholders: unique(/\{\{([A-Z_]+)\}\}/g), clauseSlots: unique(/\[\[CLAUSE:([a-z-]+)\]\]/g) };
}

/** Returns a contract template or a library clause, with the placeholders and clause slots to fill. */
export const getTemplate = tool({
  name: 'get_template',
  description: `Get a contract template or a clause from the firm's library, with its placeholders ({{NAME}}) and clause slots ([[CLAUSE:id]]) listed. Ids: ${Object.keys(
    templates,
  ).join(', ')}. Use id "catalogue" to list them with when to use each.`,
  input: z.object({
    id: z.string().describe('Template or clause id, e.g. mutual-nda or clause/export-control'),
  }),
  idempotent: true,
  execute: ({ id }) => {
    const key = id.trim().toLowerCase();
    if (key === 'catalogue') {
      return Object.entries(templates).map(([templateId, template]) => ({
        id: templateId,
        title: template.title,
        use: template.use,
      }));
    }
    const template = templates[key];
    if (template === undefined) {
      throw new Error(`No template "${id}". Ids: ${Object.keys(templates).join(', ')}.`);
    }
    return { id: key, ...template, ...slotsOf(template.text) };
  },
});

interface Requirement {
  id: string;
  /** Where the requirement comes from. */
  source: string;
  requirement: string;
  /** The clause meets the requirement when every pattern matches. */
  patterns: RegExp[];
  /** What to add when it does not. */
  fix: string;
}

interface Regulation {
  title: string;
  appliesWhen: string;
  requirements: Requirement[];
}

const regulations: Record<string, Regulation> = {
  GDPR: {
    title: 'EU General Data Protection Regulation (Regulation (EU) 2016/679)',
    appliesWhen: 'Personal data of people in the EU is shared or processed.',
    requirements: [
      {
        id: 'lawful-basis',
        source: 'Art. 6',
        requirement: 'Processing needs a lawful basis.',
        patterns: [/lawful basis|legal basis|Article 6/i],
        fix: 'State that each party processes the personal data only on a lawful basis under Article 6.',
      },
      {
        id: 'purpose-limitation',
        source: 'Art. 5(1)(b)',
        requirement: 'Personal data is used only for the specified purpose.',
        patterns: [/only for the Purpose|solely for the Purpose|purpose limitation/i],
        fix: 'Limit the use of the personal data to the Purpose.',
      },
      {
        id: 'data-minimisation',
        source: 'Art. 5(1)(c), Art. 25',
        requirement: 'Only the personal data needed is shared, pseudonymised where possible.',
        patterns: [/only the personal data needed|minimi[sz]/i, /pseudonymi[sz]/i],
        fix: 'Share only the personal data needed for the Purpose, pseudonymised where possible.',
      },
      {
        id: 'security',
        source: 'Art. 32',
        requirement: 'Appropriate technical and organisational security measures.',
        patterns: [/technical and organi[sz]ational measures/i],
        fix: 'Require appropriate technical and organisational measures (Article 32).',
      },
      {
        id: 'breach-notification',
        source: 'Art. 33',
        requirement:
          'A personal data breach is reported in time for the controller to notify the supervisory authority within 72 hours.',
        patterns: [/breach/i, /within (?:24|48|72|twenty-four|forty-eight|seventy-two) hours/i],
        fix: 'Add: "The Recipient will notify the Discloser of any personal data breach affecting that data without undue delay and in any event within 48 hours of becoming aware of it."',
      },
      {
        id: 'storage-limitation',
        source: 'Art. 5(1)(e)',
        requirement: 'Personal data is deleted or returned when no longer needed.',
        patterns: [/delete|erase|return or destroy/i],
        fix: 'Require deletion of the personal data when it is no longer needed for the Purpose.',
      },
      {
        id: 'international-transfer',
        source: 'Art. 44-46',
        requirement:
          'Transfers outside the EEA rely on an adequacy decision or appropriate safeguards such as the Standard Contractual Clauses.',
        patterns: [
          /Standard Contractual Clauses|adequacy decision|Data Privacy Framework|binding corporate rules/i,
        ],
        fix: 'Name the transfer mechanism, e.g. the EU Standard Contractual Clauses (Commission Decision 2021/914), Module 1.',
      },
    ],
  },
  EXPORT_CONTROL: {
    title: 'EU Dual-Use Regulation (EU) 2021/821 and US Export Administration Regulations (EAR)',
    appliesWhen: 'Technical data, software or technology crosses borders between the parties.',
    requirements: [
      {
        id: 'eu-dual-use',
        source: 'Regulation (EU) 2021/821',
        requirement: 'EU dual-use controls are acknowledged.',
        patterns: [/Dual-Use Regulation|2021\/821/i],
        fix: 'Name the EU Dual-Use Regulation (EU) 2021/821.',
      },
      {
        id: 'us-ear',
        source: '15 CFR 730-774',
        requirement: 'US Export Administration Regulations are acknowledged when a US party re-exports.',
        patterns: [/Export Administration Regulations|\bEAR\b/],
        fix: 'Name the US Export Administration Regulations (EAR).',
      },
      {
        id: 'classification-notice',
        source: 'good practice (BAFA, BIS)',
        requirement: 'The discloser tells the recipient when an item is controlled and how it is classified.',
        patterns: [/classification/i, /notify|inform/i],
        fix: 'Require the Discloser to notify the Recipient in writing of the classification of any controlled item before disclosing it.',
      },
      {
        id: 'sanctions',
        source: 'EU Regulation 833/2014, 31 CFR 500-599 (OFAC)',
        requirement: 'No transfer to sanctioned countries or persons.',
        patterns: [/sanction/i],
        fix: 'Prohibit exports, re-exports and transfers to sanctioned countries or persons.',
      },
    ],
  },
};

/** Checks one clause against a regulation's checklist: which requirements it meets, with the text that meets them, and fixes for the rest. */
export function checkClause(regulationId: string, clause: string) {
  const key = regulationId
    .trim()
    .toUpperCase()
    .replace(/[\s-]+/g, '_');
  const regulation = regulations[key];
  if (regulation === undefined) {
    throw new Error(`Unknown regulation "${regulationId}". Known: ${Object.keys(regulations).join(', ')}.`);
  }
  const sentences = clause.split(/(?<=[.;])\s+/);
  const results = regulation.requirements.map((requirement) => {
    const met = requirement.patterns.every((pattern) => pattern.test(clause));
    if (!met) {
      return {
        id: requirement.id,
        source: requirement.source,
        requirement: requirement.requirement,
        met,
        fix: requirement.fix,
      };
    }
    const evidence = sentences.find((sentence) =>
      requirement.patterns.some((pattern) => pattern.test(sentence)),
    );
    return {
      id: requirement.id,
      source: requirement.source,
      requirement: requirement.requirement,
      met,
      evidence,
    };
  });
  const missing = results.filter((result) => !result.met).map((result) => result.id);
  return {
    regulation: key,
    title: regulation.title,
    appliesWhen: regulation.appliesWhen,
    compliant: missing.length === 0,
    met: results.length - missing.length,
    of: results.length,
    missing,
    results,
  };
}

/** The regulation checker as a tool. */
export const checkRegulation = tool({
  name: 'check_regulation',
  description: `Check one clause of a contract against a regulation's checklist. Returns each requirement (with its article), whether the clause meets it, the sentence that does, and a suggested fix for each gap. Regulations: ${Object.keys(
    regulations,
  ).join(', ')}.`,
  input: z.object({
    regulation: z.string().describe(`One of: ${Object.keys(regulations).join(', ')}`),
    clause: z.string().min(20).describe('The full text of the clause to check'),
  }),
  idempotent: true,
  execute: ({ regulation, clause }) => checkClause(regulation, clause),
});
