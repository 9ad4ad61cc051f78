import { ZxcvbnFactory } from "@zxcvbn-ts/core";
import * as commonPackage from "@zxcvbn-ts/language-common";
import * as englishPackage from "@zxcvbn-ts/language-en";

// zxcvbn's score 3 means "safely unguessable": about 10^8 guesses, beyond an online attack behind the
// sign-in throttle. Scores 0-2 are common passwords, keyboard walks, dates and their small variations.
const minimumScore = 3;

let estimator: ZxcvbnFactory | undefined;

/** Built on first use: the dictionaries are a few MB that only sign-up needs. */
function passwordEstimator(): ZxcvbnFactory {
  estimator ??= new ZxcvbnFactory({
    translations: englishPackage.translations,
    graphs: commonPackage.adjacencyGraphs,
    dictionary: { ...commonPackage.dictionary, ...englishPackage.dictionary },
  });
  return estimator;
}

/** Why a new password is too easy to guess, or null when it is strong enough. */
export function passwordWeakness(password: string, userInputs: string[]): string | null {
  const result = passwordEstimator().check(password, userInputs);
  if (result.score >= minimumScore) return null;
  const why = result.feedback.warning ?? "It follows a pattern that is easy to guess.";
  return `This password is too easy to guess. ${why} ${result.feedback.suggestions[0] ?? "Add another word or two."}`;
}
