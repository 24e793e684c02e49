// Random container names, docker-style: adjective_noun.
const ADJECTIVES = [
  "brave",
  "calm",
  "clever",
  "eager",
  "fond",
  "gentle",
  "happy",
  "jolly",
  "keen",
  "kind",
  "lucid",
  "merry",
  "nimble",
  "proud",
  "quick",
  "quiet",
  "sharp",
  "sleepy",
  "steady",
  "sunny",
  "tender",
  "vivid",
  "witty",
  "zen",
];
const NOUNS = [
  "ada",
  "babbage",
  "curie",
  "darwin",
  "euler",
  "fermat",
  "gauss",
  "hopper",
  "hypatia",
  "kepler",
  "knuth",
  "lovelace",
  "meitner",
  "newton",
  "noether",
  "pascal",
  "ritchie",
  "shannon",
  "tesla",
  "thompson",
  "turing",
  "volta",
  "wozniak",
  "yalow",
];

const pick = (list: string[]) => list[crypto.getRandomValues(new Uint32Array(1))[0]! % list.length]!;

export function randomName(): string {
  return `${pick(ADJECTIVES)}_${pick(NOUNS)}`;
}
