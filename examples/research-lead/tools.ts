/**
 * Tools of the research team: a web search and a paper search over small in-file corpora (ranked
 * by term overlap), and a dataset tool that computes changes, growth rates and learning rates.
 * The documents, papers and figures are sample data for the example (fictional sources on .example
 * domains, rounded figures shaped like public surveys); do not cite them.
 */

import { tool } from 'batonjs';
import { z } from 'zod';

interface WebPage {
  url: string;
  title: string;
  site: string;
  date: string;
  text: string;
}

const pages: WebPage[] = [
  {
    url: 'https://gridwatch.example/2024/12/pack-prices-fall-to-115',
    title: 'Battery pack prices fall 20% in 2024, the biggest drop since 2017',
    site: 'GridWatch',
    date: '2024-12-10',
    text: 'The volume-weighted average lithium-ion battery pack price fell to $115/kWh in 2024, down 20% from 2023. Cheaper lithium carbonate, cell manufacturing overcapacity in China and the shift to LFP chemistry drove the decline. Stationary storage packs were the cheapest segment.',
  },
  {
    url: 'https://gridwatch.example/2023/01/prices-rise-first-time',
    title: 'Pack prices rise for the first time on record as lithium spikes',
    site: 'GridWatch',
    date: '2023-01-18',
    text: 'Average lithium-ion pack prices rose 7% in 2022 to $161/kWh, the first annual increase since tracking began, after lithium carbonate prices rose more than fivefold. Analysts expected the increase to reverse as new mining and refining capacity came online.',
  },
  {
    url: 'https://evinsider.example/analysis/lfp-takes-over',
    title: 'How LFP took over: cheaper cells, cell-to-pack designs and no cobalt',
    site: 'EV Insider',
    date: '2024-06-03',
    text: 'Lithium iron phosphate (LFP) cells avoid nickel and cobalt and, with cell-to-pack designs that remove modules, cut pack cost by 10-15% against nickel chemistries. LFP share of new EV batteries rose from under 10% in 2019 to over 40% in 2024.',
  },
  {
    url: 'https://evinsider.example/news/sodium-ion-first-cars',
    title: 'First sodium-ion cars ship in China, but volumes stay small',
    site: 'EV Insider',
    date: '2025-03-21',
    text: 'Several Chinese makers began shipping small cars with sodium-ion batteries. Sodium-ion cells use no lithium, cobalt or nickel and work better in the cold, but their energy density of 140-160 Wh/kg is below LFP. Makers quote cell costs close to LFP today, with savings expected only at scale.',
  },
  {
    url: 'https://storagetoday.example/2025/05/sodium-ion-cost-outlook',
    title: 'Sodium-ion cost outlook: cheaper than LFP only if lithium stays expensive',
    site: 'Storage Today',
    date: '2025-05-14',
    text: 'With lithium carbonate back below $12,000 a tonne, LFP cells cost about $60/kWh and sodium-ion cells about $70/kWh at current volumes. Sodium-ion could undercut LFP by 10-20% by 2030 if production scales and hard carbon anode costs fall, or sooner if lithium prices spike again. Stationary storage is the most likely first mass market.',
  },
  {
    url: 'https://storagetoday.example/2024/09/overcapacity',
    title: 'Cell overcapacity pushes battery prices down',
    site: 'Storage Today',
    date: '2024-09-02',
    text: 'Global cell manufacturing capacity exceeded demand by more than two and a half times in 2024, and price competition among Chinese cell makers pushed LFP cell prices down faster than material costs alone would explain.',
  },
];

interface Paper {
  id: string;
  title: string;
  authors: string;
  year: number;
  venue: string;
  citations: number;
  abstract: string;
}

const papers: Paper[] = [
  {
    id: 'P1',
    title: 'Experience curves for lithium-ion battery packs, 2010-2023',
    authors: 'Lindqvist, Obi and Marsh',
    year: 2024,
    venue: 'Energy Systems Letters',
    citations: 212,
    abstract:
      'We fit experience curves to pack price surveys and cumulative production. Prices fell by 18-21% with every doubling of cumulative deployment. Economies of scale in cell manufacturing and materials explain most of the decline; chemistry changes (LFP) contributed after 2020.',
  },
  {
    id: 'P2',
    title: 'What drove battery cost declines? A decomposition of lithium-ion cell costs',
    authors: 'Haddad and Petrov',
    year: 2022,
    venue: 'Journal of Energy Technology Economics',
    citations: 348,
    abstract:
      'A bottom-up decomposition attributes over half of the lithium-ion cell cost decline since 2010 to manufacturing scale and yield, about a third to cheaper materials and higher energy density, and the rest to other factors. Research and development dominated early declines.',
  },
  {
    id: 'P3',
    title: 'Techno-economic assessment of sodium-ion versus LFP cells for stationary storage',
    authors: 'Moreau, Zhang and Ilori',
    year: 2024,
    venue: 'Batteries and Grid Storage',
    citations: 97,
    abstract:
      'A process-based cost model finds sodium-ion cells 5-15% more expensive than LFP at current scale, but 10-25% cheaper at 100 GWh/year production, driven by cheaper cathode materials, aluminium current collectors on both electrodes and no lithium. The advantage shrinks when lithium carbonate prices are low.',
  },
  {
    id: 'P4',
    title: 'Critical mineral price shocks and battery costs',
    authors: 'Castellanos and Weber',
    year: 2023,
    venue: 'Resources Policy Review',
    citations: 141,
    abstract:
      'The 2021-2022 lithium price spike raised pack costs by 7-10%, reversing a decade of declines for one year. Chemistries without lithium or nickel hedge against such shocks.',
  },
];

/** Words of a text, lower-cased, without stop words. */
function terms(text: string): string[] {
  const stop = new Set([
    'the',
    'and',
    'for',
    'with',
    'of',
    'in',
    'on',
    'to',
    'a',
    'an',
    'is',
    'by',
    'vs',
    'versus',
  ]);
  return (text.toLowerCase().match(/[a-z0-9]+(?:-[a-z0-9]+)*/g) ?? []).filter((word) => !stop.has(word));
}

/** Ranks documents by how many distinct query terms they contain (title matches count double). */
function rank<T>(
  query: string,
  documents: readonly T[],
  title: (doc: T) => string,
  body: (doc: T) => string,
) {
  const wanted = [...new Set(terms(query))];
  return documents
    .map((doc) => {
      const inTitle = new Set(terms(title(doc)));
      const inBody = new Set(terms(body(doc)));
      const score = wanted.reduce(
        (sum, word) => sum + (inTitle.has(word) ? 2 : 0) + (inBody.has(word) ? 1 : 0),
        0,
      );
      return { doc, score };
    })
    .filter((entry) => entry.score > 0)
    .sort((a, b) => b.score - a.score);
}

/** Searches the sample web corpus. */
export const searchWeb = tool({
  name: 'search_web',
  description:
    'Search the web (news, industry analysis). Returns the best-matching pages, each with title, site, date, URL and the page text, best first.',
  input: z.object({
    query: z.string().min(3).describe('Keywords, e.g. "sodium-ion cost 2025"'),
    limit: z.number().int().min(1).max(10).optional().describe('How many results, default 3'),
  }),
  idempotent: true,
  execute: ({ query, limit }) => {
    const results = rank(
      query,
      pages,
      (page) => page.title,
      (page) => page.text,
    ).slice(0, limit ?? 3);
    return { query, results: results.map(({ doc, score }) => ({ ...doc, score })) };
  },
});

/** Searches the sample paper index. */
export const searchPapers = tool({
  name: 'search_papers',
  description:
    'Search peer-reviewed papers. Returns the best matches with title, authors, year, venue, citation count and abstract, best first.',
  input: z.object({
    query: z.string().min(3).describe('Keywords, e.g. "learning rate lithium-ion"'),
    yearFrom: z.number().int().optional().describe('Only papers from this year on'),
    limit: z.number().int().min(1).max(10).optional().describe('How many results, default 3'),
  }),
  idempotent: true,
  execute: ({ query, yearFrom, limit }) => {
    const candidates = papers.filter((paper) => yearFrom === undefined || paper.year >= yearFrom);
    const results = rank(
      query,
      candidates,
      (paper) => paper.title,
      (paper) => paper.abstract,
    ).slice(0, limit ?? 3);
    return { query, results: results.map(({ doc, score }) => ({ ...doc, score })) };
  },
});

interface Dataset {
  description: string;
  columns: Record<string, string>;
  rows: Array<Record<string, number | string>>;
}

const datasets: Record<string, Dataset> = {
  pack_prices: {
    description:
      'Average lithium-ion battery pack price (USD per kWh, real 2024 dollars) and cumulative deployment (GWh), sample series.',
    columns: {
      year: 'year',
      usd_per_kwh: 'pack price, USD/kWh',
      cumulative_gwh: 'cumulative deployment, GWh',
    },
    rows: [
      { year: 2013, usd_per_kwh: 780, cumulative_gwh: 25 },
      { year: 2014, usd_per_kwh: 640, cumulative_gwh: 38 },
      { year: 2015, usd_per_kwh: 480, cumulative_gwh: 60 },
      { year: 2016, usd_per_kwh: 380, cumulative_gwh: 100 },
      { year: 2017, usd_per_kwh: 290, cumulative_gwh: 160 },
      { year: 2018, usd_per_kwh: 235, cumulative_gwh: 250 },
      { year: 2019, usd_per_kwh: 190, cumulative_gwh: 390 },
      { year: 2020, usd_per_kwh: 160, cumulative_gwh: 560 },
      { year: 2021, usd_per_kwh: 150, cumulative_gwh: 850 },
      { year: 2022, usd_per_kwh: 161, cumulative_gwh: 1300 },
      { year: 2023, usd_per_kwh: 139, cumulative_gwh: 1950 },
      { year: 2024, usd_per_kwh: 115, cumulative_gwh: 2800 },
    ],
  },
  cell_costs: {
    description:
      'Cell cost estimates (USD per kWh) for LFP and sodium-ion cells, 2024 actual and 2030 projections at low and high production volume, sample series.',
    columns: {
      chemistry: 'cell chemistry',
      year: 'year',
      scenario: 'volume scenario',
      usd_per_kwh: 'cell cost, USD/kWh',
    },
    rows: [
      { chemistry: 'LFP', year: 2024, scenario: 'actual', usd_per_kwh: 60 },
      { chemistry: 'sodium-ion', year: 2024, scenario: 'actual', usd_per_kwh: 70 },
      { chemistry: 'LFP', year: 2030, scenario: 'low volume', usd_per_kwh: 50 },
      { chemistry: 'LFP', year: 2030, scenario: 'high volume', usd_per_kwh: 45 },
      { chemistry: 'sodium-ion', year: 2030, scenario: 'low volume', usd_per_kwh: 52 },
      { chemistry: 'sodium-ion', year: 2030, scenario: 'high volume', usd_per_kwh: 38 },
    ],
  },
};

const round = (value: number, digits = 1): number => Number(value.toFixed(digits));

/** Least-squares slope of y on x. */
function slope(xs: readonly number[], ys: readonly number[]): number {
  const meanX = xs.reduce((sum, x) => sum + x, 0) / xs.length;
  const meanY = ys.reduce((sum, y) => sum + y, 0) / ys.length;
  let numerator = 0;
  let denominator = 0;
  for (const [index, x] of xs.entries()) {
    numerator += (x - meanX) * ((ys[index] as number) - meanY);
    denominator += (x - meanX) ** 2;
  }
  return numerator / denominator;
}

/** The statistics `query_dataset` can compute for the pack price series. */
export function packPriceStats(fromYear: number, toYear: number) {
  const rows = datasets.pack_prices!.rows.filter(
    (row) => (row.year as number) >= fromYear && (row.year as number) <= toYear,
  );
  if (rows.length < 2)
    throw new Error(`pack_prices has data for 2013-2024; ${fromYear}-${toYear} has fewer than 2 years.`);
  const first = rows[0]!;
  const last = rows.at(-1)!;
  const prices = rows.map((row) => row.usd_per_kwh as number);
  const years = (last.year as number) - (first.year as number);
  // Experience curve: log(price) = a + b log(cumulative); each doubling multiplies the price by 2^b.
  const b = slope(
    rows.map((row) => Math.log(row.cumulative_gwh as number)),
    prices.map((price) => Math.log(price)),
  );
  const increases = rows
    .slice(1)
    .flatMap((row, index) =>
      (row.usd_per_kwh as number) > prices[index]!
        ? [{ year: row.year, changePct: round(((row.usd_per_kwh as number) / prices[index]! - 1) * 100) }]
        : [],
    );
  return {
    from: { year: first.year, usd_per_kwh: first.usd_per_kwh },
    to: { year: last.year, usd_per_kwh: last.usd_per_kwh },
    changePct: round(((last.usd_per_kwh as number) / (first.usd_per_kwh as number) - 1) * 100),
    cagrPct: round((((last.usd_per_kwh as number) / (first.usd_per_kwh as number)) ** (1 / years) - 1) * 100),
    learningRatePct: round((1 - 2 ** b) * 100),
    doublings: round(Math.log2((last.cumulative_gwh as number) / (first.cumulative_gwh as number))),
    yearsWithIncreases: increases,
  };
}

/** Returns a dataset's rows, optionally filtered, and computed statistics. */
export const queryDataset = tool({
  name: 'query_dataset',
  description: `Query a dataset: ${Object.entries(datasets)
    .map(([name, dataset]) => `${name} (${dataset.description})`)
    .join(
      '; ',
    )}. Filter rows with "where" (column equals value). For pack_prices, "stats" adds the change, CAGR and learning rate (price drop per doubling of cumulative deployment) between fromYear and toYear.`,
  input: z.object({
    dataset: z.string().describe(`One of: ${Object.keys(datasets).join(', ')}`),
    where: z
      .record(z.string(), z.union([z.string(), z.number()]))
      .optional()
      .describe('Column = value filters'),
    stats: z
      .object({ fromYear: z.number().int(), toYear: z.number().int() })
      .optional()
      .describe('pack_prices only: compute statistics over these years'),
  }),
  idempotent: true,
  execute: ({ dataset, where, stats }) => {
    const found = datasets[dataset.trim()];
    if (found === undefined) {
      throw new Error(`Unknown dataset "${dataset}". Datasets: ${Object.keys(datasets).join(', ')}.`);
    }
    for (const column of Object.keys(where ?? {})) {
      if (!(column in found.columns)) {
        throw new Error(
          `${dataset} has no column "${column}"; columns: ${Object.keys(found.columns).join(', ')}.`,
        );
      }
    }
    const rows = found.rows.filter((row) =>
      Object.entries(where ?? {}).every(
        ([column, value]) => String(row[column]).toLowerCase() === String(value).toLowerCase(),
      ),
    );
    if (stats !== undefined && dataset.trim() !== 'pack_prices') {
      throw new Error('stats are available for pack_prices only.');
    }
    return {
      dataset: dataset.trim(),
      description: found.description,
      columns: found.columns,
      rows,
      ...(stats === undefined ? {} : { stats: packPriceStats(stats.fromYear, stats.toYear) }),
    };
  },
});
