/** Tools of the stock-analysis team: financial statements, a price history with indicators, news with a sentiment score, ESG ratings. */

import { tool } from 'batonjs';
import { z } from 'zod';

/** The day every figure is "as of"; the data below is a fixed snapshot, so answers are reproducible. */
export const asOf = '2026-11-13';

interface Company {
  ticker: string;
  name: string;
  sector: string;
  /** Shares outstanding, millions. */
  shares: number;
  /** Net debt at the end of the last fiscal year, USD millions. */
  netDebt: number;
  /** Fiscal years, oldest first, USD millions. */
  years: Array<{
    year: number;
    revenue: number;
    grossProfit: number;
    operatingIncome: number;
    depreciation: number;
    netIncome: number;
    operatingCashFlow: number;
    capex: number;
  }>;
}

const companies: Record<string, Company> = {
  HGS: {
    ticker: 'HGS',
    name: 'Halvorsen Grid Systems',
    sector: 'Electrical equipment (grid-scale storage and transformers)',
    shares: 212,
    netDebt: 1150,
    years: [
      {
        year: 2022,
        revenue: 1840,
        grossProfit: 478,
        operatingIncome: 162,
        depreciation: 71,
        netIncome: 104,
        operatingCashFlow: 188,
        capex: 96,
      },
      {
        year: 2023,
        revenue: 2310,
        grossProfit: 624,
        operatingIncome: 231,
        depreciation: 84,
        netIncome: 152,
        operatingCashFlow: 246,
        capex: 141,
      },
      {
        year: 2024,
        revenue: 2905,
        grossProfit: 813,
        operatingIncome: 319,
        depreciation: 102,
        netIncome: 211,
        operatingCashFlow: 322,
        capex: 205,
      },
      {
        year: 2025,
        revenue: 3486,
        grossProfit: 1011,
        operatingIncome: 405,
        depreciation: 121,
        netIncome: 268,
        operatingCashFlow: 371,
        capex: 262,
      },
    ],
  },
  VLTA: {
    ticker: 'VLTA',
    name: 'Volta Forge Energy',
    sector: 'Electrical equipment (inverters and charging)',
    shares: 148,
    netDebt: -220,
    years: [
      {
        year: 2022,
        revenue: 960,
        grossProfit: 307,
        operatingIncome: 86,
        depreciation: 31,
        netIncome: 61,
        operatingCashFlow: 112,
        capex: 40,
      },
      {
        year: 2023,
        revenue: 1015,
        grossProfit: 315,
        operatingIncome: 79,
        depreciation: 34,
        netIncome: 55,
        operatingCashFlow: 104,
        capex: 44,
      },
      {
        year: 2024,
        revenue: 1043,
        grossProfit: 313,
        operatingIncome: 70,
        depreciation: 36,
        netIncome: 47,
        operatingCashFlow: 97,
        capex: 45,
      },
      {
        year: 2025,
        revenue: 1102,
        grossProfit: 336,
        operatingIncome: 81,
        depreciation: 38,
        netIncome: 57,
        operatingCashFlow: 109,
        capex: 47,
      },
    ],
  },
  CRNM: {
    ticker: 'CRNM',
    name: 'Cairnmoor Utilities',
    sector: 'Regulated electric utility',
    shares: 530,
    netDebt: 14_200,
    years: [
      {
        year: 2022,
        revenue: 7120,
        grossProfit: 2990,
        operatingIncome: 1570,
        depreciation: 1010,
        netIncome: 820,
        operatingCashFlow: 2380,
        capex: 2650,
      },
      {
        year: 2023,
        revenue: 7390,
        grossProfit: 3100,
        operatingIncome: 1640,
        depreciation: 1060,
        netIncome: 860,
        operatingCashFlow: 2450,
        capex: 2810,
      },
      {
        year: 2024,
        revenue: 7610,
        grossProfit: 3200,
        operatingIncome: 1700,
        depreciation: 1120,
        netIncome: 905,
        operatingCashFlow: 2560,
        capex: 2990,
      },
      {
        year: 2025,
        revenue: 7880,
        grossProfit: 3310,
        operatingIncome: 1760,
        depreciation: 1170,
        netIncome: 940,
        operatingCashFlow: 2640,
        capex: 3120,
      },
    ],
  },
};

/** Price path parameters per ticker: start price, drift per day, a slow cycle and the noise seed. */
const pricePaths: Record<
  string,
  { start: number; drift: number; cycle: number; noise: number; seed: number }
> = {
  HGS: { start: 41.2, drift: 0.0016, cycle: 0.07, noise: 0.014, seed: 7 },
  VLTA: { start: 23.5, drift: -0.0004, cycle: 0.05, noise: 0.017, seed: 11 },
  CRNM: { start: 52.8, drift: 0.0002, cycle: 0.02, noise: 0.006, seed: 23 },
};

function findCompany(ticker: string): Company {
  const company = companies[ticker.trim().toUpperCase()];
  if (company === undefined) {
    throw new Error(`Unknown ticker "${ticker}". Covered tickers: ${Object.keys(companies).join(', ')}.`);
  }
  return company;
}

const round = (value: number, digits = 2): number => Number(value.toFixed(digits));
const percent = (value: number): number => round(value * 100, 1);

/** Trading days (Monday to Friday) ending at {@link asOf}, oldest first. */
function tradingDays(count: number): string[] {
  const days: string[] = [];
  const day = new Date(`${asOf}T00:00:00Z`);
  while (days.length < count) {
    const weekday = day.getUTCDay();
    if (weekday !== 0 && weekday !== 6) days.push(day.toISOString().slice(0, 10));
    day.setUTCDate(day.getUTCDate() - 1);
  }
  return days.reverse();
}

/** A deterministic pseudo-random sequence in [-1, 1) (a linear congruential generator). */
function noiseSequence(seed: number, count: number): number[] {
  let state = seed;
  return Array.from({ length: count }, () => {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    return (state / 2_147_483_648) * 2 - 1;
  });
}

/** The closing prices of the last `count` trading days, oldest first. */
export function closes(ticker: string, count = 260): Array<{ date: string; close: number }> {
  const company = findCompany(ticker);
  const path = pricePaths[company.ticker]!;
  const days = tradingDays(count);
  const noise = noiseSequence(path.seed, count);
  let logPrice = Math.log(path.start);
  return days.map((date, index) => {
    logPrice += path.drift + path.noise * noise[index]! + path.cycle * 0.05 * Math.sin(index / 19);
    return { date, close: round(Math.exp(logPrice)) };
  });
}

function average(values: readonly number[]): number {
  return values.reduce((sum, value) => sum + value, 0) / values.length;
}

/** Wilder's 14-day relative strength index of the last day. */
function rsi(values: readonly number[], period = 14): number {
  let gain = 0;
  let loss = 0;
  for (let index = 1; index <= period; index += 1) {
    const change = values[index]! - values[index - 1]!;
    if (change > 0) gain += change;
    else loss -= change;
  }
  gain /= period;
  loss /= period;
  for (let index = period + 1; index < values.length; index += 1) {
    const change = values[index]! - values[index - 1]!;
    gain = (gain * (period - 1) + Math.max(change, 0)) / period;
    loss = (loss * (period - 1) + Math.max(-change, 0)) / period;
  }
  return loss === 0 ? 100 : round(100 - 100 / (1 + gain / loss), 1);
}

function maxDrawdown(values: readonly number[]): number {
  let peak = values[0]!;
  let worst = 0;
  for (const value of values) {
    peak = Math.max(peak, value);
    worst = Math.min(worst, value / peak - 1);
  }
  return percent(worst);
}

/** The latest close of a ticker (what valuation multiples are computed at). */
export function lastClose(ticker: string): number {
  return closes(ticker).at(-1)!.close;
}

/** Income statement, cash flow and balance-sheet figures with growth, margins and valuation multiples. */
export const getFinancials = tool({
  name: 'get_financials',
  description:
    'Get four fiscal years of financials for a ticker (USD millions): revenue, margins, net income, EPS, free cash flow, net debt, plus growth rates and valuation multiples at the latest close.',
  input: z.object({ ticker: z.string().describe('Stock ticker, e.g. HGS') }),
  idempotent: true,
  execute: ({ ticker }) => {
    const company = findCompany(ticker);
    const price = lastClose(company.ticker);
    const years = company.years.map((year, index) => {
      const previous = company.years[index - 1];
      return {
        year: year.year,
        revenue: year.revenue,
        revenueGrowthPct: previous === undefined ? null : percent(year.revenue / previous.revenue - 1),
        grossMarginPct: percent(year.grossProfit / year.revenue),
        operatingMarginPct: percent(year.operatingIncome / year.revenue),
        netIncome: year.netIncome,
        eps: round(year.netIncome / company.shares),
        freeCashFlow: year.operatingCashFlow - year.capex,
      };
    });
    const first = company.years[0]!;
    const last = company.years.at(-1)!;
    const ebitda = last.operatingIncome + last.depreciation;
    const marketCap = price * company.shares;
    const freeCashFlow = last.operatingCashFlow - last.capex;
    return {
      ticker: company.ticker,
      name: company.name,
      sector: company.sector,
      currency: 'USD',
      unit: 'millions (per-share figures in dollars)',
      years,
      revenueCagrPct: percent((last.revenue / first.revenue) ** (1 / (company.years.length - 1)) - 1),
      sharesOutstanding: company.shares,
      netDebt: company.netDebt,
      netDebtToEbitda: round(company.netDebt / ebitda),
      valuation: {
        price,
        priceDate: asOf,
        marketCap: Math.round(marketCap),
        peRatio: round(price / (last.netIncome / company.shares), 1),
        evToEbitda: round((marketCap + company.netDebt) / ebitda, 1),
        freeCashFlowYieldPct: percent(freeCashFlow / marketCap),
      },
    };
  },
});

/** Daily closes with moving averages, RSI, returns, the 52-week range and the worst drawdown. */
export const getPriceHistory = tool({
  name: 'get_price_history',
  description:
    'Get the daily price history of a ticker (last 260 trading days) with indicators: 50- and 200-day moving averages, 14-day RSI, 1/3/12-month returns, 52-week high and low, maximum drawdown, and the last 10 closes.',
  input: z.object({ ticker: z.string().describe('Stock ticker, e.g. HGS') }),
  idempotent: true,
  execute: ({ ticker }) => {
    const company = findCompany(ticker);
    const series = closes(company.ticker);
    const prices = series.map((point) => point.close);
    const last = prices.at(-1)!;
    const change = (days: number): number => percent(last / prices[prices.length - 1 - days]! - 1);
    const sma50 = round(average(prices.slice(-50)));
    const sma200 = round(average(prices.slice(-200)));
    const sma50Before = round(average(prices.slice(-70, -20)));
    const sma200Before = round(average(prices.slice(-220, -20)));
    return {
      ticker: company.ticker,
      asOf,
      lastClose: last,
      sma50,
      sma200,
      priceVsSma200Pct: percent(last / sma200 - 1),
      goldenCrossWithin20Days: sma50Before <= sma200Before && sma50 > sma200,
      rsi14: rsi(prices),
      returnsPct: { oneMonth: change(21), threeMonths: change(63), twelveMonths: change(252) },
      high52Week: Math.max(...prices.slice(-252)),
      low52Week: Math.min(...prices.slice(-252)),
      maxDrawdownPct: maxDrawdown(prices.slice(-252)),
      lastCloses: series.slice(-10),
    };
  },
});

interface Article {
  date: string;
  source: string;
  headline: string;
}

const news: Record<string, Article[]> = {
  HGS: [
    {
      date: '2026-11-12',
      source: 'Reuters',
      headline: 'Halvorsen Grid wins $640 million storage contract from Texas grid operator, record backlog',
    },
    {
      date: '2026-11-06',
      source: 'Bloomberg',
      headline: 'Halvorsen Grid beats third-quarter estimates and raises full-year revenue guidance',
    },
    {
      date: '2026-10-29',
      source: 'Financial Times',
      headline: 'Transformer shortage delays Halvorsen Grid deliveries in Europe; margin pressure warned',
    },
    {
      date: '2026-10-21',
      source: 'Barron’s',
      headline: 'Analysts upgrade Halvorsen Grid to outperform on strong data-center demand',
    },
    {
      date: '2026-10-08',
      source: 'Wall Street Journal',
      headline: 'Halvorsen Grid faces lawsuit over battery fire at Arizona site; company disputes claims',
    },
    {
      date: '2026-09-30',
      source: 'Reuters',
      headline: 'Halvorsen Grid opens second cell plant in Ohio, creating 900 jobs',
    },
  ],
  VLTA: [
    {
      date: '2026-11-10',
      source: 'Reuters',
      headline: 'Volta Forge cuts guidance as residential inverter demand weakens',
    },
    {
      date: '2026-10-27',
      source: 'Bloomberg',
      headline: 'Volta Forge announces $150 million buyback',
    },
  ],
  CRNM: [
    {
      date: '2026-11-04',
      source: 'Reuters',
      headline: 'Cairnmoor Utilities wins approval for rate increase, steady dividend growth',
    },
  ],
};

/** Words that push a headline's score up or down (a small finance lexicon; the score is their balance). */
const positiveWords = [
  'wins',
  'record',
  'beats',
  'raises',
  'upgrade',
  'outperform',
  'strong',
  'opens',
  'creating',
  'approval',
  'growth',
  'buyback',
];
const negativeWords = [
  'shortage',
  'delays',
  'pressure',
  'warned',
  'lawsuit',
  'fire',
  'disputes',
  'cuts',
  'weakens',
  'downgrade',
  'misses',
];

/** Scores a headline from -1 (all negative words) to 1 (all positive). */
export function headlineScore(headline: string): number {
  const words = headline.toLowerCase().match(/[a-z’']+/g) ?? [];
  const positive = words.filter((word) => positiveWords.includes(word)).length;
  const negative = words.filter((word) => negativeWords.includes(word)).length;
  return positive + negative === 0 ? 0 : round((positive - negative) / (positive + negative));
}

/** Recent headlines with a per-headline sentiment score and the average. */
export const getNews = tool({
  name: 'get_news',
  description:
    'Get recent news headlines about a ticker (newest first), each with a lexicon sentiment score from -1 (negative) to 1 (positive), and the average score.',
  input: z.object({
    ticker: z.string().describe('Stock ticker, e.g. HGS'),
    limit: z.number().int().min(1).max(20).optional().describe('How many headlines, default 10'),
  }),
  idempotent: true,
  execute: ({ ticker, limit }) => {
    const company = findCompany(ticker);
    const articles = (news[company.ticker] ?? []).slice(0, limit ?? 10).map((article) => ({
      ...article,
      score: headlineScore(article.headline),
    }));
    const scores = articles.map((article) => article.score);
    return {
      ticker: company.ticker,
      asOf,
      articles,
      averageScore: scores.length === 0 ? 0 : round(average(scores)),
      positive: scores.filter((score) => score > 0).length,
      negative: scores.filter((score) => score < 0).length,
    };
  },
});

interface EsgRating {
  environmental: number;
  social: number;
  governance: number;
  controversies: string[];
}

/** ESG scores, 0-100, higher is better; the peer group is every company in the same industry here. */
const esgRatings: Record<string, EsgRating & { industry: string }> = {
  HGS: {
    industry: 'Electrical equipment',
    environmental: 78,
    social: 54,
    governance: 66,
    controversies: ['Battery fire at the Arizona storage site (October 2026), litigation pending'],
  },
  VLTA: {
    industry: 'Electrical equipment',
    environmental: 71,
    social: 63,
    governance: 72,
    controversies: [],
  },
  CRNM: {
    industry: 'Electric utilities',
    environmental: 41,
    social: 68,
    governance: 75,
    controversies: ['Coal plant retirement pushed from 2028 to 2031'],
  },
  // Peers that are rated but not covered by the other tools.
  ELCR: {
    industry: 'Electrical equipment',
    environmental: 69,
    social: 61,
    governance: 70,
    controversies: [],
  },
  PWRT: {
    industry: 'Electrical equipment',
    environmental: 58,
    social: 57,
    governance: 64,
    controversies: [],
  },
  MGNX: {
    industry: 'Electrical equipment',
    environmental: 74,
    social: 66,
    governance: 59,
    controversies: [],
  },
  STRV: {
    industry: 'Electrical equipment',
    environmental: 63,
    social: 49,
    governance: 68,
    controversies: [],
  },
};

/** Weights of the composite ESG score. */
const esgWeights = { environmental: 0.4, social: 0.3, governance: 0.3 };

function composite(rating: EsgRating): number {
  return round(
    rating.environmental * esgWeights.environmental +
      rating.social * esgWeights.social +
      rating.governance * esgWeights.governance,
    1,
  );
}

/** ESG pillar scores, the weighted composite, the rank among industry peers and open controversies. */
export const getEsgScores = tool({
  name: 'get_esg_scores',
  description:
    'Get ESG ratings for a ticker: environmental, social and governance scores (0-100, higher is better), the weighted composite (40/30/30), its rank and percentile among industry peers, and open controversies.',
  input: z.object({ ticker: z.string().describe('Stock ticker, e.g. HGS') }),
  idempotent: true,
  execute: ({ ticker }) => {
    const company = findCompany(ticker);
    const rating = esgRatings[company.ticker]!;
    const peers = Object.entries(esgRatings).filter(([, peer]) => peer.industry === rating.industry);
    const ranked = peers
      .map(([peerTicker, peer]) => ({ ticker: peerTicker, composite: composite(peer) }))
      .sort((a, b) => b.composite - a.composite);
    const rank = ranked.findIndex((peer) => peer.ticker === company.ticker) + 1;
    const below = ranked.filter((peer) => peer.composite < composite(rating)).length;
    return {
      ticker: company.ticker,
      industry: rating.industry,
      environmental: rating.environmental,
      social: rating.social,
      governance: rating.governance,
      composite: composite(rating),
      weights: esgWeights,
      peerRank: `${rank} of ${ranked.length}`,
      peerPercentile: Math.round((below / (ranked.length - 1)) * 100),
      peers: ranked,
      controversies: rating.controversies,
    };
  },
});
