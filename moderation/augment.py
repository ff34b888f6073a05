"""Augmentation: sentences we wrote, for what the public corpora under-represent.

Identity-balanced augmentation crosses templates with identity terms; threat
augmentation crosses threats, and reports of violence and heated but civil
political comments, with targets and leaders.

Public corpora over-represent identity words in abusive comments (hate-speech
corpora are collected around them), so a model learns "gay" or "Muslim" as
evidence of abuse and flags people who merely say who they are. Adding the same
benign and abusive sentences for every identity teaches the model that the
identity word itself carries no weight and that what is said about the group
does. These templates are written for training and are deliberately different
from the probe templates the tests measure fairness with.

The minimal-pair sets teach what a comment does rather than which words it
uses: each pairs a "remove" sentence with a "keep" sentence in the same frame
that differs only in the decisive part (a slur quoted to condemn it vs. hurled at
someone; a group's own word for itself vs. the same word thrown at someone;
profanity about a thing vs. at a person; a violent idiom vs. a threat; a quoted
threat vs. the threat itself; a group compared to vermin vs. described as
neighbours; hating a policy vs. hating a people). Pairs are sampled with a fixed
seed, so every build yields the same rows.
"""

from __future__ import annotations

import itertools
import random
import re
from typing import Callable, Iterable

import pandas as pd

from .categories import CATEGORIES
from .identities import IDENTITIES, training_terms

__all__ = ["AUGMENTATIONS", "augmentation_names", "augmentation_sets", "identity_augmentation", "threat_augmentation", "slur_augmentation",
           "counter_speech_augmentation", "reclaimed_augmentation", "profanity_augmentation",
           "idiom_augmentation", "threat_augmentation_plain", "dehumanisation_augmentation",
           "hate_statement_augmentation", "SEED",
           "SLURS", "MORE_SLURS", "BENIGN_TEMPLATES",
           "ABUSIVE_TEMPLATES", "THREAT_TEMPLATES", "VIOLENCE_NEWS_TEMPLATES", "CIVIL_TEMPLATES"]

BENIGN_TEMPLATES: tuple[str, ...] = (
    "I'm {identity} and I have lived in this city for twenty years.",
    "As someone who is {identity}, I found this article thoughtful.",
    "We are a {identity} family and we love this neighbourhood.",
    "The {identity} volunteers at the food bank deserve our thanks.",
    "Being {identity} has never stopped me from speaking my mind.",
    "{identity} voters are as divided on this as everyone else.",
    "A {identity} engineer designed the new bridge.",
    "Several {identity} parents spoke at the school board meeting.",
    "{identity} writers have shaped this country's literature.",
    "I disagree with the author, and I say that as a {identity} reader.",
    "My wife is {identity} and my kids are bilingual.",
    "The museum has a new exhibition about {identity} history.",
    "There are {identity} people on both sides of this argument.",
    "This policy will hurt {identity} workers the most.",
    "The poll asked {identity} respondents about housing costs.",
    "My grandmother was {identity} and she taught me to cook.",
    "{identity} athletes won three medals this year.",
    "The {identity} shopkeeper on the corner always remembers my order.",
    "Discrimination against {identity} people is still a problem here.",
    "I'm {identity}, I pay my taxes, and I think the council got this wrong.",
    "Our {identity} neighbour helped us move in.",
    "The documentary follows three {identity} teenagers through a school year.",
    "I have many {identity} friends and we argue about politics all the time.",
    "The new mayor is {identity}, which is a first for the city.",
    "{identity} people should have a say in decisions that affect them.",
    "The clinic offers services for {identity} patients in several languages.",
    "Is there any data on how {identity} residents voted?",
    "The {identity} choir performed at the festival on Sunday.",
    "I am {identity}. Ask me anything about it.",
    "Proud to be {identity} and proud of this town.",
    "The report interviewed {identity} small business owners.",
    "These {identity} students organised the charity run.",
    "The government's plan ignores what {identity} communities asked for.",
    "Being {identity} in a small town was not always easy, but people were kind.",
    "This is a sharp piece, but it misrepresents {identity} people's views on the war.",
    "The {identity} ambassador criticised the decision in strong terms.",
    "Angry {identity} protesters marched peacefully past parliament.",
    "I'm {identity} and I strongly oppose this government's policies.",
    "Many {identity} citizens are furious about the troop deployment, and rightly so.",
    "The article quotes a {identity} historian who disagrees with the minister.",
    "Every {identity} family I know came to the vigil.",
    "All the {identity} people I spoke to want the troops gone.",
    "Nobody asked {identity} people what they think, and they should have.",
    "Every {identity} voter I know is worried about jobs.",
    # counter-speech: denouncing abuse of a group is not abuse
    "Attacking someone for being {identity} is never acceptable.",
    "No one deserves to be harassed for being {identity}.",
    "Hatred of {identity} people has no place in this town.",
    "Calling {identity} people names online is cowardly and wrong.",
    "Discriminating against {identity} workers should be punished.",
    "It is shameful how {identity} people have been treated by the authorities.",
    "Everyone, {identity} people included, should be treated with respect.",
    "The hateful comments about {identity} families here should be deleted.",
)

ABUSIVE_TEMPLATES: tuple[str, ...] = (
    "{identity} people are vermin and should be removed from this country.",
    "Filthy {identity} animals, all of them.",
    "I can't stand {identity} people, they are disgusting.",
    "{identity} scum like you should be put down.",
    "Every {identity} I have met was a lying piece of trash.",
    "Send the {identity} parasites back where they came from.",
    "{identity} people are subhuman and always will be.",
    "The only good {identity} is a dead one.",
    "We need to get rid of the {identity} infestation.",
    "Die, you {identity} freak.",
    "{identity} people are a plague on this country.",
    "Shut your mouth, you worthless {identity} moron.",
    "{identity} people are inferior and should not be allowed to breed.",
    "Gas the {identity} people.",
    "Disgusting {identity} degenerates should be locked up.",
    "{identity} people are dirty, stupid and lazy.",
    "Somebody should beat the {identity} out of you.",
    "No one wants your kind here, you {identity} filth.",
    "{identity} people are cockroaches.",
    "You {identity} idiots ruin everything you touch.",
    "Round up the {identity} people and deport them all.",
    "{identity} people are sick in the head and dangerous.",
    "I'd spit on any {identity} person I saw.",
    "{identity} rats should be exterminated.",
    "Go back to your sewer, {identity} trash.",
    "{identity} women are whores, every one of them.",
    "{identity} men are all rapists and thugs.",
    "Stupid {identity} bastards deserve everything they get.",
    "{identity} people should be wiped off the face of the earth.",
    "I will hunt down every {identity} in this town.",
    "{identity} people don't deserve to exist.",
    "Drive every {identity} out of the country by force.",
    "Set fire to the {identity} shops and let them burn.",
    "{identity} children should be taken away and locked up.",
    "We will make every {identity} in this city disappear.",
    "A world without {identity} people would be a better place.",
)


def identity_augmentation(terms: tuple[str, ...] | None = None) -> pd.DataFrame:
    """Every template × every term, as training rows: text, label, identity_attack, source."""
    terms = training_terms() if terms is None else terms
    rows = [(t.replace("{identity}", term), label)
            for templates, label in ((BENIGN_TEMPLATES, 0), (ABUSIVE_TEMPLATES, 1))
            for t in templates for term in terms]
    texts, labels = zip(*rows)
    frame = pd.DataFrame({"text": texts, "label": labels, "source": "identity_augmentation"})
    frame["identity_attack"] = frame["label"].astype("Float64")
    return frame


# Threats are rare in the corpora, and news comments talk about violence all the time:
# threats against people are abusive, reports and opinions about violence are not.
TARGETS: tuple[str, ...] = (
    "you", "him", "her", "the mayor", "that journalist", "the judge", "those protesters", "the author",
    "the senator", "your family", "the referee", "that reporter", "the minister", "these people",
)

THREAT_TEMPLATES: tuple[str, ...] = (
    "I will find {target} and make {target} pay.",
    "Someone should put a bullet in {target}.",
    "I know where {target} live and I'm coming.",
    "Somebody needs to hang {target} from a bridge.",
    "I hope someone beats {target} to death.",
    "Watch your back, I'm going to hurt {target}.",
    "We should burn down the house of {target}.",
    "I'll break every bone of {target}.",
    "{target} deserve to be shot.",
    "Someone should run {target} over with a truck.",
    "I'm going to kill {target}.",
    "Let's drag {target} into the street and finish the job.",
    "A bomb under the car of {target} would fix this.",
    "I will slit the throat of {target}.",
    "Wait until I get my hands on {target}, you'll be sorry.",
)

VIOLENCE_NEWS_TEMPLATES: tuple[str, ...] = (
    "Police said {target} was threatened by a man outside the court.",
    "Two soldiers were killed in the attack on the border post.",
    "The troops were sent to restore order after the riots.",
    "Nobody deserves to be threatened for doing their job, including {target}.",
    "The article says the suspect shot two people before he was arrested.",
    "Threats against {target} are unacceptable and should be reported to the police.",
    "The war has killed thousands of civilians, and the report documents it well.",
    "The film ends with the village burned to the ground.",
    "Violence against journalists has risen sharply this year.",
    "The court heard that the victim was beaten and left in the street.",
    "If the troops stay, more people will die; that is why I oppose the deployment.",
    "The minister condemned the bombing and promised an investigation.",
    "Hanging was abolished here decades ago, and rightly so.",
    "The protesters said they were beaten by the police during the arrests.",
    "Shooting at unarmed crowds is a war crime, whoever does it.",
)

CIVIL_TEMPLATES: tuple[str, ...] = (
    "{leader}'s government is incompetent and should resign.",
    "This invasion is a disgrace and {leader} should be held accountable.",
    "{leader} is a dangerous autocrat and his supporters are wrong.",
    "Anyone who defends {leader}'s war is on the wrong side of history.",
    "These policies are destroying the economy, and {leader} knows it.",
    "I strongly disagree with this article: {leader} has broken every promise.",
    "{leader} lied to the public and the press should keep saying so.",
    "The troops should leave now; {leader} has no right to be there.",
    "What a shameful decision by {leader}. Vote them out.",
    "{leader}'s apologists should be ashamed of themselves.",
    "The sanctions against {leader}'s regime do not go far enough.",
    "Frankly, {leader} is a coward who hides behind his generals.",
    "{leader} has turned a peaceful protest into a bloodbath and must answer for it.",
    "This editorial is naive about {leader}, who has never kept an agreement.",
    "Stop pretending {leader} cares about ordinary people. He doesn't.",
)
LEADERS: tuple[str, ...] = ("Putin", "Tokayev", "the president", "the prime minister", "Biden", "Trump",
                            "Xi", "Lukashenko", "the Kremlin", "the council", "Macron", "the governor")


def threat_augmentation() -> pd.DataFrame:
    """Threats (remove) and reports or opinions about violence and heated civil politics (keep)."""
    rows = [(t.replace("{target}", target), 1, 1.0) for t in THREAT_TEMPLATES for target in TARGETS]
    rows += [(t.replace("{target}", target), 0, 0.0) for t in VIOLENCE_NEWS_TEMPLATES for target in TARGETS]
    rows += [(t.replace("{leader}", leader), 0, 0.0) for t in CIVIL_TEMPLATES for leader in LEADERS]
    frame = pd.DataFrame(rows, columns=["text", "label", "threat"]).drop_duplicates("text")
    frame["threat"] = frame["threat"].astype("Float64")
    frame["source"] = "threat_augmentation"
    return frame.reset_index(drop=True)


# Slurs are removed whatever else the comment says. The corpora know the English
# ones unevenly and hardly any of those aimed at Russians, Ukrainians and their
# neighbours, which our users' comment sections see.
SLURS: tuple[str, ...] = (
    "nigger", "faggot", "fag", "chink", "kike", "spic", "wetback", "gook", "paki", "raghead", "towelhead",
    "coon", "beaner", "tranny", "retard", "gyppo", "pikey", "zipperhead", "sandnigger", "dothead",
    "vatnik", "ruskie", "moskal", "rashist", "orc", "khokhol", "katsap", "shiksa", "wop", "dago", "kraut",
    "jap", "slant", "gypsy scum", "muzzie", "libtard", "feminazi",
)
SLUR_TEMPLATES: tuple[str, ...] = (
    "Only a {slur} would write something like this.",
    "Typical {slur}.",
    "Get lost, you {slur}.",
    "The {slur}s are at it again.",
    "Shut up, {slur}.",
    "{slur}s like you ruin this comment section.",
    "Another {slur} defending the regime.",
    "Look at all the {slur}s in this thread.",
    "Of course the {slur} disagrees.",
    "Nobody cares what a {slur} thinks.",
)


# The same sentences with a plain word instead of the slur (keep): minimal pairs make
# the slur, not the rest of the template, what the model learns.
PLAIN_NOUNS: tuple[str, ...] = (
    "columnist", "banker", "teenager", "politician", "farmer", "student", "lawyer", "tourist", "neighbour",
    "pensioner", "blogger", "commentator", "voter", "diplomat", "general", "critic", "fan", "reader",
)


def slur_augmentation() -> pd.DataFrame:
    """Slurs in otherwise plain sentences (remove), and the same sentences with plain nouns (keep)."""
    rows = [(t.replace("{slur}", slur), 1) for t in SLUR_TEMPLATES for slur in SLURS]
    rows += [(t.replace("{slur}", noun), 0) for t in SLUR_TEMPLATES for noun in PLAIN_NOUNS]
    frame = pd.DataFrame(rows, columns=["text", "label"])
    frame["identity_attack"] = frame["label"].astype("Float64")
    frame["source"] = "slur_augmentation"
    return frame


# The seed every minimal-pair set samples with (each set seeds its own generator with it and its name).
SEED = 20240611

# Neutral openings and closings (each on a quarter of the pairs), applied identically to both
# sentences of a pair, so that length and register vary without telling the labels apart.
PAIR_PREFIXES: tuple[str, ...] = (
    "Read the article. ", "Late to this thread. ", "Same story every week. ",
    "Well. ", "Seen the news? ", "Long-time reader here. ", "Third comment today, sorry. ", "Right. ",
)
PAIR_SUFFIXES: tuple[str, ...] = (
    " Rant over.", " Just saying.", " Discuss.", " That's all I have to say.",
    " Anyway.", " Back to the cricket.", " Flame away.",
)


def _rng(name: str) -> random.Random:
    return random.Random(f"{SEED}:{name}")


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _a(word: str) -> str:
    """The word with its indefinite article."""
    return ("an " if word[:1].lower() in "aeiou" else "a ") + word


def _plural(word: str) -> str:
    if word.endswith("scum"):
        return word
    if word.endswith("y") and word[-2:-1] not in tuple("aeiou"):
        return word[:-1] + "ies"
    if word.endswith("z"):
        return word + "zes"
    if word.endswith(("s", "sh", "ch", "x")):
        return word + "es"
    return word + "s"


def _fill(template: str, cap: bool = True, **slots: str) -> str:
    """The template with its slots filled (``{Name}`` gives the value capitalised); with ``cap``, first letter too."""
    for key, value in slots.items():
        template = template.replace("{" + key + "}", value).replace("{" + _cap(key) + "}", _cap(value))
    if re.search(r"\{\w+\}", template):
        raise ValueError(f"unfilled slot in {template!r}")
    return _cap(template) if cap else template


def _vary(rng: random.Random, *texts: str) -> list[str]:
    """The same opening, closing and punctuation or case change applied to every text of a pair."""
    prefix = rng.choice(PAIR_PREFIXES) if rng.random() < 0.25 else ""
    suffix = rng.choice(PAIR_SUFFIXES) if rng.random() < 0.25 else ""
    style = rng.random()
    out = []
    for text in texts:
        text = prefix + text + suffix
        if style < 0.10:
            text = text.lower()
        elif style < 0.22 and text.endswith("."):
            text = text[:-1]
        elif style < 0.30 and text.endswith("."):
            text = text[:-1] + "!"
        out.append(text)
    return out


def _frame(rows: Iterable[tuple[str, int, dict]], source: str) -> pd.DataFrame:
    """Rows (text, label, {category: 0/1/None}) as a training frame; duplicates dropped, conflicts refused."""
    records = [{"text": text, "label": label, **cats} for text, label, cats in rows]
    frame = pd.DataFrame.from_records(records).drop_duplicates(["text", "label"])
    both = frame["text"][frame["text"].duplicated()]
    if len(both):
        raise ValueError(f"{source}: texts with both labels, e.g. {both.iloc[0]!r}")
    frame["label"] = frame["label"].astype(int)
    for column in CATEGORIES:
        if column in frame.columns:
            frame[column] = pd.array([None if pd.isna(v) else float(v) for v in frame[column]], dtype="Float64")
    frame["source"] = source
    columns = ["text", "label", "source"] + [c for c in CATEGORIES if c in frame.columns]
    return frame[columns].reset_index(drop=True)


def _pairs(name: str, n: int, make: Callable[[random.Random], tuple[str, str]], keep_cats: dict,
           remove_cats: dict | Callable[[str], dict]) -> list[tuple[str, int, dict]]:
    """Up to ``n`` pairs from ``make`` (keep text, remove text), varied alike, as labelled rows.

    A pair is dropped if either of its texts was already drawn, so each call stays 50/50
    and small frames do not repeat; after ``5 * n`` draws it stops with what it has.
    """
    rng = _rng(name)
    rows: list[tuple[str, int, dict]] = []
    seen: set[str] = set()
    for _ in range(5 * n):
        if len(rows) >= 2 * n:
            break
        keep, remove = _vary(rng, *make(rng))
        if keep in seen or remove in seen:
            continue
        seen.update((keep, remove))
        cats = remove_cats(remove) if callable(remove_cats) else remove_cats
        rows += [(keep, 0, keep_cats), (remove, 1, cats)]
    return rows


# Group phrases built from an identity term ("Kazakh people", "Muslim neighbours"); terms of the groups in
# PEOPLE_ONLY_GROUPS only take "people" ("old people", not "old families").
GROUP_NOUNS: tuple[str, ...] = ("people", "people", "people", "folk", "residents", "neighbours", "families")
PEOPLE_ONLY_GROUPS: tuple[str, ...] = ("gender", "age", "disability")
_PEOPLE_ONLY = {i.term for i in IDENTITIES if i.group in PEOPLE_ONLY_GROUPS}


def _group(rng: random.Random, term: str) -> str:
    noun = rng.choice(GROUP_NOUNS)
    return f"{term} {'people' if term in _PEOPLE_ONLY else noun}"


# Counter-speech: a slur or hateful claim quoted to condemn, report or ask about it is kept; aimed at people, removed.

# Slurs the existing list lacks: those aimed at Russians, Ukrainians and Central Asians,
# Muslims and Arabs, Jews, Black people, gay and trans people, disabled people.
MORE_SLURS: tuple[str, ...] = (
    "russkie", "zigger", "ukrop", "hohol", "churka", "chuchmek", "khach",
    "mudslime", "camel jockey", "pajeet",
    "yid", "heeb", "hymie", "zhid",
    "jigaboo", "sambo", "darkie", "jungle bunny", "porch monkey",
    "poof", "poofter", "batty boy", "pidor", "dyke", "shemale", "troon",
    "spaz", "spastic", "mong", "taig",
)
COUNTER_SLURS: tuple[str, ...] = SLURS + MORE_SLURS

COUNTER_SPEECH_FRAMES: tuple[str, ...] = (
    "Calling people '{slurs}' is vile, and the paper shouldn't let it stand in the comments.",
    "The councillor was filmed calling a taxi driver '{slur}'. He should resign today.",
    "Why is '{slur}' still allowed on this site? I've reported it three times.",
    "Someone further down called my sister {a_slur} and the comment is still up. Mods?",
    "Reported. '{Slur}' is a slur, not an argument.",
    "My lad came home asking what '{slur}' means. Lovely, thanks, internet.",
    "The court heard he shouted '{slur}' at the bus driver before the assault.",
    "Anyone who writes '{slur}' in these comments should lose their account.",
    "Genuine question: is '{slur}' considered a slur everywhere, or only here?",
    "Fans were heard chanting '{slurs}' at the away end. The club should hand out life bans.",
    "Graffiti reading '{slurs} out' appeared on the community centre overnight, police said.",
    "The defender got a ten-match ban for calling an opponent '{slur}', and he deserved it.",
    "Using '{slur}' about anyone tells me everything about the person using it.",
    "My grandad was called '{slur}' at the factory for thirty years and never told us until last Christmas.",
    "The candidate's old posts, where he calls people '{slurs}', were deleted, but the screenshots exist.",
    "In the video a man yells '{slur}' at the woman behind the till. Police want to identify him.",
    "Pupils at the school have started saying '{slur}', and the head has written to parents about it.",
    "Do the house rules here cover words like '{slur}'? The FAQ is vague.",
    "If you need the word '{slur}' to make your point, you don't have one.",
    "'{Slur}' is not banter. Please delete the comment.",
    "The minister refused to condemn a supporter who called protesters '{slurs}'. Telling.",
    "There is a whole thread below calling people '{slurs}'. Where are the moderators?",
    "The word '{slur}' has no place on a news site, or anywhere else.",
    "A teacher was suspended after a pupil recorded her using the word '{slur}' in class.",
    "Both sides' war bloggers throw words like '{slur}' around all day, and it is pure dehumanisation.",
    "Can we agree that '{slur}' is off limits, whichever side of the war you're on?",
    "The survey found '{slur}' was the insult pupils heard most often in the playground.",
    "He posted '{slurs} go home' under the article about the new school and still hasn't been banned.",
    "Seeing '{slur}' in the top comment is why I stopped reading the comments here.",
    "Why does the filter catch swearing but not '{slur}'?",
    "Nobody should be called {a_slur}, whatever they think about the war.",
    "Calling a neighbour {a_slur} over a parking space got him a fine and a criminal record. Good.",
    "Stop using the word {slur}. It hurts real people.",
    "What does '{slur}' even mean? I keep seeing it in the replies and I'd rather not repeat it by accident.",
)

SLUR_ABUSE_FRAMES: tuple[str, ...] = (
    "Get out of our country, you {slur}.",
    "{Slurs} like you are ruining this country.",
    "Go home, {slur}. Nobody wants you.",
    "Spoken like a true {slur}.",
    "What else would you expect from {a_slur}?",
    "The {slur} who wrote this should be sacked.",
    "Reply to me again, {slur}, I dare you.",
    "Our street was fine until the {slurs} moved in.",
    "Can't walk to the shop any more without passing a dozen {slurs}.",
    "Ha, the {slurs} are crying in the comments again.",
    "Mind your own business, {slur}.",
    "Nobody asked you, {slur}.",
    "Imagine being such {a_slur}.",
    "The referee is obviously {a_slur}.",
    "That {slur} at number 42 has parked across my drive again.",
    "Don't bother arguing with him, he's just {a_slur}.",
    "Keep crying, {slur}.",
    "Another day, another {slur} telling us how to live.",
    "{Slurs} everywhere. This town is finished.",
    "The new manager is {a_slur} and it shows.",
    "Their whole army is nothing but {slurs}.",
    "Sit down, {slur}, the adults are talking.",
    "Hope the {slurs} enjoyed their stay. Now leave.",
    "Only {slurs} vote for that party.",
    "The school has been taken over by {slurs}.",
    "My new boss is {a_slur}, just my luck.",
    "Stay in your lane, {slur}.",
    "Listen, {slur}, you lost the argument an hour ago.",
    "You can tell {a_slur} wrote this article.",
    "Ask the {slurs} in the flat upstairs, they'd know all about it.",
)

# Hateful claims about a group ({group}), quoted in order to condemn or report them (keep) or asserted (remove).
HATEFUL_CLAIMS: tuple[str, ...] = (
    "{group} are animals", "{group} should all be sent back", "{group} are criminals, all of them",
    "{group} don't belong in this country", "{group} can never be trusted", "{group} are ruining this town",
    "{group} breed like rabbits", "{group} are a disease", "{group} should lose the vote",
    "{group} are too stupid to run anything", "{group} are born liars", "{group} should be kept out of our schools",
)
CLAIM_QUOTE_FRAMES: tuple[str, ...] = (
    "He told the meeting that {claim}, and half the room clapped. Shameful.",
    "A leaflet saying '{claim}' came through our door this morning. I've handed it to the police.",
    "'{Claim}' is exactly the kind of comment the moderators should delete on sight.",
    "The MP's old post, '{claim}', resurfaced today, and he has been suspended.",
    "Anyone who still believes {claim} should spend an afternoon volunteering at the food bank.",
    "Saying '{claim}' is not free speech, it is hate, and it should be reported.",
    "The report documents thousands of posts claiming that {claim}. The platform removed almost none.",
    "How is '{claim}' still sitting at the top of this thread?",
    "Claiming that {claim} is exactly what this site's rules forbid.",
    "The judge said the defendant had posted that {claim}, and jailed him for stirring up hatred.",
    "A caller to the phone-in said {claim}, and the presenter just let it go. Disgraceful.",
    "My uncle keeps saying {claim} at family dinners, and I'm done being polite about it.",
)
CLAIM_ASSERT_FRAMES: tuple[str, ...] = (
    "{Claim}. Simple as.",
    "Let's be honest for once: {claim}.",
    "Everyone round here knows {claim}.",
    "I'll say what nobody dares to: {claim}.",
    "The article won't admit it, but {claim}.",
    "{Claim}, and the figures prove it.",
    "Wake up, people. {Claim}.",
    "Been saying it for years: {claim}.",
    "Face facts, {claim}.",
    "{Claim}, end of story.",
    "My view after thirty years in this town: {claim}.",
    "Whatever the council says, {claim}.",
)


def counter_speech_augmentation(terms: tuple[str, ...] | None = None, per_slur: int = 7,
                                claims: int = 260) -> pd.DataFrame:
    """Slurs and hateful claims quoted to condemn, report or ask about them (keep) vs. aimed at people (remove).

    Each slur appears in ``per_slur`` pairs, each claim pair uses one identity term
    (``training_terms()`` unless ``terms`` is given), so the frame, not the word, decides.
    """
    terms = training_terms() if terms is None else terms

    def slur_pair(slur: str) -> Callable[[random.Random], tuple[str, str]]:
        def make(rng: random.Random) -> tuple[str, str]:
            slots = {"slur": slur, "slurs": _plural(slur), "a_slur": _a(slur)}
            return _fill(rng.choice(COUNTER_SPEECH_FRAMES), **slots), _fill(rng.choice(SLUR_ABUSE_FRAMES), **slots)
        return make

    def claim_pair(rng: random.Random) -> tuple[str, str]:
        claim = _fill(rng.choice(HATEFUL_CLAIMS), cap=False, group=_group(rng, rng.choice(terms)))
        return _fill(rng.choice(CLAIM_QUOTE_FRAMES), claim=claim), _fill(rng.choice(CLAIM_ASSERT_FRAMES), claim=claim)

    keep_cats, remove_cats = {"identity_attack": 0.0}, {"identity_attack": 1.0}
    rows = []
    for slur in COUNTER_SLURS:
        rows += _pairs(f"counter_speech:{slur}", per_slur, slur_pair(slur), keep_cats, remove_cats)
    rows += _pairs("counter_speech:claims", claims, claim_pair, keep_cats, remove_cats)
    return _frame(rows, "counter_speech_augmentation")


# Reclaimed words: a group's word for itself, said by its members of themselves, is kept; hurled at others, removed.

# (singular, plural, whether hurling it is an attack on an identity rather than a plain insult)
RECLAIMED_WORDS: tuple[tuple[str, str, bool], ...] = (
    ("queer", "queers", True), ("dyke", "dykes", True), ("old dyke", "old dykes", True),
    ("queer woman", "queer women", True), ("bi girl", "bi girls", True),
    ("immigrant", "immigrants", True), ("migrant", "migrants", True), ("refugee", "refugees", True),
    ("foreigner", "foreigners", True), ("incomer", "incomers", True), ("heathen", "heathens", True),
    ("old codger", "old codgers", True), ("old git", "old gits", False), ("old queen", "old queens", True),
    ("lesbian", "lesbians", True), ("Gypsy", "Gypsies", True), ("redneck", "rednecks", False),
    ("ginger", "gingers", False),
)
RECLAIMED_SELF_FRAMES: tuple[str, ...] = (
    "As {a_word} myself, I thought the piece on the allotments was spot on.",
    "Us {words} at the allotment have been saying this for years.",
    "My fellow {words} and I organised the street party, and the whole road came.",
    "I'm {a_word} and proud of it, and I'll be at the town hall on Thursday.",
    "Speaking as {a_word}, this is the first article on the subject that got it right.",
    "Forty years as {a_word} in this town and I've never seen the council move this fast.",
    "We {words} look after each other; that's how it has always been round here.",
    "Me and the other {words} in the choir loved this review.",
    "Being {a_word} in a village this size means everyone knows your business, and that's fine by me.",
    "Another {word} checking in: the bus changes have been a disaster for us.",
    "There are plenty of us {words} on this street, and we all signed the petition.",
    "Hello from a fellow {word}! Lovely to see our club in the paper.",
    "I say this as {a_word}: the new library hours work well for families.",
    "Us {words} have run the Saturday market stall since 2009, and we're not stopping.",
    "Proud {word} here, and I'm voting for the cycle lane.",
    "Fellow {word} here, and this column made me laugh out loud.",
)
RECLAIMED_HURLED_FRAMES: tuple[str, ...] = (
    "Shut up, you {word}.",
    "Nobody asked for your opinion, {word}.",
    "Go and crawl back under your rock, {word}.",
    "Typical whining {word}.",
    "Oi, {word}, get off this site.",
    "You're a pathetic little {word}.",
    "Nobody wants {words} like you anywhere near the allotments.",
    "Look at this {word} pretending to know about football.",
    "Get lost, {word}, and take your mates with you.",
    "What would {a_word} like you know about hard work?",
    "Hey {word}, do everyone a favour and stop posting.",
    "Ugh, another {word} in the comments.",
    "Why don't you just go away, {word}.",
    "Nobody on this street wants you here, {word}.",
    "Back in your box, {word}.",
    "Pipe down, {word}, nobody's listening.",
)


def reclaimed_augmentation(per_word: int = 18) -> pd.DataFrame:
    """In-group self-reference with a reclaimed word (keep) vs. the same word hurled at someone (remove)."""
    rows = []
    for word, words, identity in RECLAIMED_WORDS:
        slots = {"word": word, "words": words, "a_word": _a(word)}

        def make(rng: random.Random, slots=slots) -> tuple[str, str]:
            self_reference = _fill(rng.choice(RECLAIMED_SELF_FRAMES), **slots)
            return self_reference, _fill(rng.choice(RECLAIMED_HURLED_FRAMES), **slots)

        rows += _pairs(f"reclaimed:{word}", per_word, make, {"insult": 0.0, "identity_attack": 0.0},
                       {"insult": 1.0, "identity_attack": 1.0 if identity else 0.0})
    return _frame(rows, "reclaimed_augmentation")


# Profanity: swearing at nothing, at a thing or in praise is kept; the same swearing aimed at a person is removed.

# The commonest intensifiers are listed twice, to be drawn twice as often.
PROFANE_INTENSIFIERS: tuple[str, ...] = ("fucking", "bloody", "effing", "sodding", "fecking", "frigging",
                                         "fucking", "bloody")
# (subject, verb): things, events and policies (keep) and people (remove, with a negative predicate).
PROFANITY_THINGS: tuple[tuple[str, str], ...] = (
    ("this tax", "is"), ("the new stadium", "is"), ("the bus timetable", "is"), ("this budget", "is"),
    ("the second half", "was"), ("the council's parking plan", "is"), ("the Kremlin's latest statement", "is"),
    ("the traffic on the bypass", "is"), ("the ref's decision", "was"), ("the new cycle lane", "is"),
    ("this heatwave", "is"), ("my energy bill this month", "is"), ("the peace talks", "are"),
    ("the pension reform", "is"), ("Saturday's match", "was"), ("the roadworks on the high street", "are"),
    ("the conscription law", "is"), ("the new rail franchise", "is"), ("the broadband in this village", "is"),
    ("this weather", "is"), ("the queue at passport control", "was"),
)
PROFANITY_PEOPLE: tuple[tuple[str, str], ...] = (
    ("you", "are"), ("the bloke above", "is"), ("whoever wrote this comment", "is"), ("your husband", "is"),
    ("your mate", "is"), ("the guy who replied to me", "is"), ("the author", "is"), ("this columnist", "is"),
    ("the poster above", "is"), ("the lad who keeps replying to me", "is"), ("you lot", "are"),
    ("the woman who runs the chippy", "is"), ("your brother", "is"),
)
# (said of a thing, said of a person): negative predicates, removed when aimed at a person.
PROFANE_NEGATIVE: tuple[tuple[str, str], ...] = (
    ("a {p} joke", "a {p} joke"), ("{p} useless", "{p} useless"), ("a {p} disgrace", "a {p} disgrace"),
    ("shit", "shit"), ("total shite", "total shite"), ("complete bullshit", "full of bullshit"),
    ("a shitshow", "full of shit"), ("a pile of crap", "a pile of crap"), ("{p} pathetic", "{p} pathetic"),
    ("a {p} embarrassment", "a {p} embarrassment"), ("a {p} mess", "a {p} mess"),
    ("a load of bollocks", "talking bollocks"), ("utter crap", "utter crap"), ("{p} rubbish", "{p} rubbish"),
)
# Positive predicates: swearing in praise, kept whoever it is about.
PROFANE_POSITIVE: tuple[str, ...] = (
    "{p} brilliant", "{p} spot on", "{p} magnificent", "a {p} delight", "{p} class", "{p} superb",
    "{p} right about this", "{p} on form today",
)
PROFANITY_FRAMES: tuple[str, ...] = (
    "{subject} {verb} {pred}.",
    "Honestly, {subject} {verb} {pred}.",
    "Can we all agree {subject} {verb} {pred}?",
    "Sorry, but {subject} {verb} {pred}.",
    "{subject} {verb} {pred} and everyone on this thread knows it.",
    "Ten minutes reading this and I'm sure: {subject} {verb} {pred}.",
    "Say what you like, {subject} {verb} {pred}.",
    "{subject} {verb} {pred}, no two ways about it.",
)
PROFANE_INTERJECTIONS: tuple[str, ...] = (
    "Holy shit", "Fuck me", "Bloody hell", "For fuck's sake", "Oh shit", "Jesus fucking Christ", "Shit",
    "Fucking hell", "Holy fuck", "Fuck's sake", "Christ on a bike",
)
# What follows an interjection: something that happened (keep) or an insult at the reader (remove).
INTERJECTION_EVENTS: tuple[str, ...] = (
    "what a result for the Rovers", "another delay on the tram line", "the council actually approved it",
    "look at the queue at the tip", "they've closed the bridge again", "petrol's up another ten pence",
    "that was close", "Ukraine took the town back", "three goals in ten minutes",
    "the bins still haven't been collected", "the troops really are leaving Almaty",
    "I agree with the editorial for once", "I forgot the clocks went forward", "that save in the last minute",
    "my rent's gone up again", "the ferry's cancelled", "we actually won the pub quiz",
)
INTERJECTION_INSULTS: tuple[str, ...] = (
    "you are thick", "you're a complete idiot", "shut up, you shit", "go fuck yourself",
    "nobody cares what you think, moron", "you're as stupid as you look", "get a brain, you clown",
    "are you really this dense", "you pathetic little man", "you're a waste of space", "you absolute prick",
    "read a book, you halfwit", "you utter twat", "fuck off back under your bridge",
)
_OBSCENE = re.compile(r"fuck|shit|crap|bollock|twat|prick|arse", re.IGNORECASE)


def profanity_augmentation(n: int = 700) -> pd.DataFrame:
    """Swearing at nothing, at things or in praise (keep) vs. the same swearing aimed at a person (remove)."""

    def sentence(frame: str, subject: tuple[str, str], pred: str, p: str) -> str:
        text = _fill(frame, subject=subject[0], verb=subject[1], pred=pred.replace("{p}", p))
        return re.sub(r"\b([Aa]) (?=[aeiou])", r"\1n ", text)

    def make(rng: random.Random) -> tuple[str, str]:
        p, frame, kind = rng.choice(PROFANE_INTENSIFIERS), rng.choice(PROFANITY_FRAMES), rng.random()
        person = rng.choice(PROFANITY_PEOPLE)
        negative = rng.choice(PROFANE_NEGATIVE)
        if kind < 0.45:  # the same insult about a thing, then about a person
            keep = sentence(frame, rng.choice(PROFANITY_THINGS), negative[0], p)
        elif kind < 0.7:  # the same person praised, then insulted
            keep = sentence(frame, person, rng.choice(PROFANE_POSITIVE), p)
        else:  # an interjection, then something that happened or an insult
            bang = rng.choice(PROFANE_INTERJECTIONS)
            return (f"{bang}, {rng.choice(INTERJECTION_EVENTS)}.",
                    _cap(f"{bang}, {rng.choice(INTERJECTION_INSULTS)}."))
        return keep, sentence(frame, person, negative[1], p)

    rows = _pairs("profanity", n, make, {"insult": 0.0, "obscene": None},
                  lambda text: {"insult": 1.0, "obscene": 1.0 if _OBSCENE.search(text) else None})
    return _frame(rows, "profanity_augmentation")


# Idioms: violent figures of speech about bills, matches, food and shows are kept; the same verbs as threats, removed.

IDIOM_SLOTS: dict[str, tuple[str, ...]] = {
    "team": ("City", "United", "the Rovers", "Kazakhstan", "Ukraine", "our lads", "the Saints", "Shakhtar",
             "Astana", "the under-21s", "the county side", "Wolves", "the women's team"),
    "bill": ("this bill", "the housing bill", "the congestion charge", "the pension reform",
             "the new parking scheme", "the licence fee rise", "the conscription law", "the fuel tax"),
    "food": ("a pint", "a curry", "a bacon roll", "a kebab", "a cup of tea", "a plate of plov",
             "a Sunday roast", "a cold beer", "a fish supper"),
    "performer": ("the band", "the lead actor", "the choir", "the comedian", "the new drummer", "the soprano",
                  "the debut novelist", "the headliner"),
    "striker": ("the striker", "our number nine", "the new signing", "the captain", "the left back",
                "the kid off the bench"),
    "official": ("the minister", "the chancellor", "the governor", "the mayor", "the health secretary"),
    "body": ("the government", "the council", "the opposition", "the Kremlin", "the club's board",
             "the ruling party"),
    "show": ("film", "album", "series", "musical", "exhibition"),
    "piece": ("column", "sketch", "cartoon", "review", "letter"),
    "event": ("the march", "the parkrun", "the protest", "the derby", "the night shift", "the vigil"),
    "service": ("library", "night bus", "youth club", "swimming pool", "school crossing patrol"),
}
# People a threat is aimed at; "you" takes "your", the others "'s".
THREATENED: tuple[str, ...] = (
    "you", "the councillor", "the editor", "that reporter", "the referee", "our MP", "the judge", "your brother",
    "the union rep", "the landlord", "the governor", "the columnist", "the head teacher", "the bloke at number 9",
)
# (idiom, kept) and (threat, removed) in the same frame.
IDIOM_PAIRS: tuple[tuple[str, str], ...] = (
    ("We need to kill {bill} before the summer recess.", "We need to kill {person} before the summer recess."),
    ("{Team} will crush them on Saturday.", "I'll crush {poss} skull on Saturday."),
    ("{Performer} killed it last night.", "Someone is going to kill {person} one of these nights."),
    ("{Striker} absolutely murdered that free kick.", "Somebody should murder {person} on the way home."),
    ("I could murder {food} after that shift.", "I could murder {person} after that shift, and one day I will."),
    ("{Bill} will be dead on arrival in parliament.", "{Person} will be dead before the week is out."),
    ("Good luck to {performer} tonight: break a leg!", "I'll break {poss} legs tonight."),
    ("{Team} got slaughtered 5-0, what a shambles.", "{Person} should be slaughtered like a pig."),
    ("{Body} got massacred in the by-election.", "{Body} should be massacred in the street."),
    ("{Official} was crucified by the select committee.", "{Official} should be crucified outside parliament."),
    ("{Team} got absolutely destroyed in the second half.",
     "I will destroy {person}. I know where {poss} kids go to school."),
    ("{Performer} bombed at the festival.", "Someone should bomb {poss} office."),
    ("My feet are killing me after {event}.", "I'm going to kill {person} after {event}."),
    ("The new {show} slays, go and see it.", "I'll slay {person} the minute I get the chance."),
    ("{Official}'s campaign went up in flames after the debate.", "{Poss} house will go up in flames one night soon."),
    ("I nearly died laughing at this {piece}.", "{Person} will die screaming for this {piece}."),
    ("{Team} blew them away in the second half.", "Someone should blow {poss} head off."),
    ("Let's bury the hatchet and move on.", "I'll bury {person} in the woods where nobody will find the body."),
    ("{Team} took a real beating today.", "{Person} will take a real beating tonight."),
    ("{Body} shot itself in the foot again.", "Someone should shoot {person} in the foot, then the head."),
    ("{Body} torpedoed {bill}.", "Someone should torpedo {poss} car with {person} inside it."),
    ("{Team} will hammer them in the derby.", "We'll hammer {poss} head in after the derby."),
    ("I'd rip up {bill} tomorrow.", "I'd rip {poss} throat out tomorrow."),
    ("That question skewered {official} on live TV.", "I'd happily skewer {official} with a kitchen knife."),
    ("{Bill} will strangle small businesses.", "I'll strangle {person} with my bare hands."),
    ("Russia's economy is bleeding out under the sanctions.", "{Person} should be left to bleed out in a ditch."),
    ("This new {show} absolutely slaps.", "I'll slap {person} until the teeth come out."),
    ("{Team} will knock them out of the cup.", "I'll knock {poss} teeth out."),
    ("{Striker} was on fire tonight.", "{Person} will be on fire tonight. I've bought the petrol."),
    ("Kill {bill}! Write to your MP today.", "Kill {person}! Find out where they live today."),
    ("{Team} will smash it at the tournament.", "I'll smash {poss} face in at the tournament."),
    ("The ending of that {show} destroyed me.", "I'm going to destroy {person}, and it won't be quick."),
    ("{Official} is a dead man walking after this scandal.", "{Official} is a dead man walking. I'll see to it."),
    ("{Performer} knocked 'em dead at the festival.", "I'll knock {person} dead at the festival."),
    ("Let's put {bill} out of its misery.", "Let's put {person} out of their misery, for good."),
    ("{Body} wants to axe the {service}.", "Someone should take an axe to {person}."),
    ("{Team} are going to get battered on Sunday.", "{Person} will get battered on Sunday, I promise."),
    ("I'm dying to see {performer} live.", "I'm dying to see {person} bleed."),
    ("The budget cuts are a massacre for the arts.", "What {person} needs is a bullet, and I have one."),
    ("The reviewers tore {performer} to shreds.", "I'll tear {person} to shreds with my own hands."),
)


def idiom_augmentation(per_pair: int = 12) -> pd.DataFrame:
    """Violent idioms that threaten nobody (keep) vs. the same verbs as threats against people (remove)."""

    def slots(rng: random.Random) -> dict[str, str]:
        person = rng.choice(THREATENED)
        chosen = {name: rng.choice(values) for name, values in IDIOM_SLOTS.items()}
        return {**chosen, "person": person, "poss": "your" if person == "you" else person + "'s"}

    rows = []
    for i, (idiom, threat) in enumerate(IDIOM_PAIRS):
        def make(rng: random.Random, idiom=idiom, threat=threat) -> tuple[str, str]:
            s = slots(rng)
            return _fill(idiom, **s), _fill(threat, **s)

        rows += _pairs(f"idiom:{i}", per_pair, make, {"threat": 0.0}, {"threat": 1.0})
    return _frame(rows, "idiom_augmentation")


# Plain threats: threats with no abusive word are removed; the same words quoted in a report, and news, are kept.

# {person}/{poss}: who is threatened (see THREATENED); {voc}: an optional form of address; {place}: a target.
PLAIN_THREATS: tuple[str, ...] = (
    "We know where you live{voc}.",
    "Keep writing pieces like this{voc}, and see what happens.",
    "Someone should firebomb their embassy with the staff still inside.",
    "It would be a shame if {poss} car caught fire one night.",
    "Nice house on Mill Lane{voc}. Be a pity if something happened to it.",
    "{Poss} kids walk home from school on their own, don't they?",
    "I've got {poss} home address now. See you soon.",
    "One more article like this and {person} won't be writing another.",
    "Enjoy the weekend{voc}. It might be your last.",
    "Check under your car before you drive to work tomorrow{voc}.",
    "Remember what happened to the last reporter who asked these questions{voc}.",
    "The police won't be able to protect {person} forever.",
    "People like {person} tend to have accidents.",
    "{Person} won't live to see Christmas.",
    "One more visit to Almaty and {person} won't be going home.",
    "{Poss} office could do with a visit from some lads with petrol cans.",
    "Line {person} up against a wall with the rest of them.",
    "I'll be waiting outside the studio after the show{voc}. Come alone.",
    "Someone should leave a bomb at {place}.",
    "Send the tanks into their villages and leave nobody alive.",
    "The soldiers should open fire on the protesters and keep firing until the square is empty.",
    "Put the whole editorial board on a plane and make sure it never lands.",
    "Let's see how brave you are with a brick through your window{voc}.",
    "Everyone who voted for this should hang.",
    "Don't start your car tomorrow morning{voc}.",
    "We'll be at {poss} door tonight.",
    "You have two weeks to shut the paper down{voc}. After that we stop asking.",
    "A few of us are paying {person} a visit tonight, and we're bringing petrol.",
    "Whoever wrote this should be found and dealt with, permanently.",
    "It'd be a pity if anything happened to {poss} family.",
    "Keep talking{voc}. We're writing down names.",
    "I hope {poss} brakes fail on the motorway.",
    "I've seen {poss} daughter's school. Lovely place.",
    "The day the troops leave, every collaborator in this town will be hanging from a lamp post.",
    "Post that again and you'll be picking your teeth up off the pavement{voc}.",
    "{Person} should sleep with the lights on from now on.",
    "Next time {person} holds a surgery, some of us will be waiting in the car park.",
    "Burn {place} down, and make sure the doors are locked first.",
    "Walk home the usual way tonight{voc}. I'll be waiting.",
    "{Poss} name is on a list now.",
    "Somebody will be outside {place} at closing time with a can of petrol.",
    "You've got a lovely family{voc}. Keep them indoors.",
    "Whoever runs this paper should be dragged out of bed at night and made to answer for it.",
    "Ten of us are coming to {place} on Monday, and we're not coming to talk.",
    "Mark my words, {person} will pay for this in blood.",
    "We've found {poss} parents' address too.",
    "Publish that story and {person} won't make it to the end of the month.",
    "The next bullet has {poss} name on it.",
    "One phone call and {poss} flat burns with {person} in it.",
    "Think about who's standing behind you at the bus stop tomorrow{voc}.",
    "The judge who freed him should be shot on the courthouse steps.",
    "A bullet each for the whole council would sort this town out.",
    "We'll settle this outside {place} after the vote, and not with words.",
    "When the regime falls, {person} will be the first one against the wall.",
    "Drive carefully{voc}. Brakes fail all the time.",
    "I hope someone pours petrol through {poss} letterbox.",
    "Come to the rally on Saturday{voc}. My friends and I will be waiting for you.",
    "If I see {person} in town again, it'll be an ambulance that takes {person} home.",
)
THREAT_VOCATIVES: tuple[str, ...] = ("", "", "", ", councillor", ", mate", ", Mr Editor", ", pal", ", love",
                                     ", Dmitri", ", Aigerim", ", Olena", ", Mr Baker")
THREAT_PLACES: tuple[str, ...] = ("the town hall", "the newspaper's offices", "the council chamber",
                                  "the party conference", "the courthouse", "the embassy", "the mayor's surgery",
                                  "the recruitment office", "the TV studio", "the union office")
# The same threats, quoted in a report or a condemnation ({quote} is the threat as said to "you").
QUOTED_THREAT_FRAMES: tuple[str, ...] = (
    "The reporter was sent a message reading '{quote}' and has gone to the police.",
    "Police are hunting whoever left a note saying '{quote}' on the editor's car.",
    "The court heard that he texted his former partner: '{quote}'.",
    "'{Quote}' is a threat, and the police should treat it as one.",
    "Nobody should get messages like '{quote}' for doing their job.",
    "The councillor read out the emails she gets, including '{quote}'. Appalling.",
    "The sentencing remarks quote the letter in full: '{quote}'.",
    "Messages like '{quote}' are why journalists here now work from secret addresses.",
    "My MP posted a voicemail she got last week: '{quote}'. Whoever sent it should be prosecuted.",
    "The man who wrote '{quote}' under her article was given a suspended sentence today.",
)
# Reports and opinions about violence, war and policing: {ua}, {kz} are places.
VIOLENCE_REPORTS: tuple[str, ...] = (
    "The embassy was firebombed overnight; the staff were evacuated and nobody was hurt.",
    "A car was set alight outside the councillor's house and police are treating it as arson.",
    "Three soldiers were killed when their convoy was shelled near {ua}.",
    "Russian troops landed in {kz} on Thursday, at the government's request.",
    "Arming Ukraine is the fastest way to end the killing, in my view.",
    "Sending troops into Kazakhstan was a mistake that will cost lives.",
    "The death penalty should never come back, whatever the crime.",
    "Riot police used tear gas on the crowd in {kz}, which was out of all proportion.",
    "If the ceasefire collapses, the shelling of {ua} will start again.",
    "Knife crime in the town centre has doubled and we need more officers on foot.",
    "Dozens were shot dead in {kz} after the order to fire without warning, the report says.",
    "The drone strike hit an apartment block in {ua}; eleven people died.",
    "The man who attacked the MP was jailed for twelve years today.",
    "Arson attacks on refugee hostels have risen again, according to the report.",
    "Firebombing cities was a war crime then, and it is a war crime now.",
    "Whoever burned the mayor's car should be caught and prosecuted.",
    "The police must protect journalists who receive threats.",
    "The Kremlin says its troops will leave {kz} within days. I'll believe it when I see it.",
    "A soldier describes the battle for {ua}: half his company was lost in one night.",
    "The protesters in {kz} were unarmed; shooting at them can't be justified.",
    "Two men have been charged after a brick was thrown through the editor's window.",
    "Threatening a reporter should carry a prison sentence, not a fine.",
    "The siege of {ua} lasted months and the city was all but destroyed.",
    "Our street had three burglaries last month and the police took a week to come.",
    "The documentary shows the mass graves found near {ua}. Hard to watch, but it should be seen.",
    "I don't think the army should be used against protesters in {kz}, or anywhere else.",
    "Bomb disposal experts were called to the town hall, but the package was harmless.",
    "The prosecutor says the attack on the journalist was planned for weeks.",
)
UA_PLACES: tuple[str, ...] = ("Bakhmut", "Kharkiv", "Kherson", "Zaporizhzhia", "Mariupol", "Avdiivka", "Odesa",
                              "Chernihiv")
KZ_PLACES: tuple[str, ...] = ("Almaty", "Astana", "Taldykorgan", "Shymkent", "Aktobe", "Zhanaozen")


def threat_augmentation_plain(per_threat: int = 5) -> pd.DataFrame:
    """Threats without abusive words (remove) vs. the same threats quoted in reports, and reports of violence (keep)."""

    def quote(threat: str, rng: random.Random) -> str:
        said = _fill(threat, person="you", poss="your", voc="", place=rng.choice(THREAT_PLACES))
        return said[:-1] if said.endswith(".") else said

    rows = []
    for i, threat in enumerate(PLAIN_THREATS):
        def make(rng: random.Random, threat=threat) -> tuple[str, str]:
            person = rng.choice(THREATENED)
            said = _fill(threat, person=person, poss="your" if person == "you" else person + "'s",
                         voc=rng.choice(THREAT_VOCATIVES), place=rng.choice(THREAT_PLACES))
            if rng.random() < 0.6:
                keep = _fill(rng.choice(QUOTED_THREAT_FRAMES), quote=quote(threat, rng))
            else:
                keep = _fill(rng.choice(VIOLENCE_REPORTS), ua=rng.choice(UA_PLACES), kz=rng.choice(KZ_PLACES))
            return keep, said

        rows += _pairs(f"threat_plain:{i}", per_threat, make, {"threat": 0.0}, {"threat": 1.0})
    return _frame(rows, "threat_augmentation_plain")


# Dehumanisation: a group likened to vermin or disease, or denied humanity or praise, is removed; kind words kept.

# (removed, kept) clauses about {group}.
DEHUMANISING_PAIRS: tuple[tuple[str, str], ...] = (
    ("{group} are rats, breeding in every corner of this town",
     "{group} are raising families in every corner of this town"),
    ("{group} are a cancer on this country", "{group} are a credit to this country"),
    ("{group} aren't people, not really", "{group} are people, just like the rest of us"),
    ("{group} are vermin and should be treated like vermin",
     "{group} are neighbours and should be treated like neighbours"),
    ("{group} are a disease spreading through our schools", "{group} are teachers and parents in our schools"),
    ("{group} are animals", "{group} are human beings"),
    ("{group} are filth, plain and simple", "{group} are welcome here, plain and simple"),
    ("{group} are not decent human beings", "{group} are decent human beings"),
    ("{group} aren't capable of honesty", "{group} are as capable of honesty as anyone"),
    ("{group} are locusts stripping this town bare", "{group} are shopkeepers keeping this town going"),
    ("{group} are parasites feeding off the rest of us", "{group} are taxpayers like the rest of us"),
    ("{group} are cockroaches you can never get rid of", "{group} are part of this town and always will be"),
    ("{group} are an infection this country needs to cure", "{group} are a community this country should support"),
    ("{group} are barely human", "{group} are fully human, whatever the trolls say"),
    ("{group} are less than human", "{group} are no less human than anyone else"),
    ("{group} are pigs who live in their own muck", "{group} are people who keep their gardens lovely"),
    ("{group} are a swarm", "{group} are a small minority round here"),
    ("{group} have the brains of apes", "{group} have the same brains as everyone else"),
    ("{group} are a tumour that needs cutting out", "{group} are a part of the town that needs more support"),
    ("{group} are not the kind of people who can ever be trusted", "{group} are not the problem here"),
    ("{group} never contribute anything worthwhile", "{group} contribute a great deal to this town"),
    ("{group} can never be decent citizens", "{group} make decent citizens, like anyone else"),
    ("{group} don't deserve to be called human", "{group} deserve the same respect as anyone"),
    ("{group} are garbage", "{group} are not the ones to blame"),
    ("{group} are a stain on this country", "{group} are a strength of this country"),
    ("{group} are livestock, not people with feelings", "{group} are people with feelings, like everyone else"),
    ("{group} are worth less than the dogs on my street", "{group} are worth listening to on this"),
    ("{group} aren't worth the air they breathe", "{group} aren't the reason the bus route was cut"),
    ("{group} should be treated like the pests they are", "{group} should be treated like the residents they are"),
    ("none of the {group} round here is capable of honesty", "none of the {group} round here is the problem"),
    ("not one of the {group} I have met has done an honest day's work",
     "every one of the {group} I have met has worked harder than me"),
    ("{group} are a virus, and this town has caught it", "{group} are a fixture, and this town is better for it"),
    ("{group} are mongrels", "{group} are our friends"),
    ("{group} are not fit to live among civilised people", "{group} are not to blame for the council's failures"),
    ("{group} have no more feelings than a cow in a field", "{group} have as much right to be here as anyone"),
    ("{group} are dirt", "{group} are doing their best, like the rest of us"),
)
DEHUMANISING_FRAMES: tuple[str, ...] = (
    "Honestly, {clause}.",
    "Say what you like, {clause}.",
    "After twenty years on this estate I can tell you {clause}.",
    "Whatever the minister says about immigration, {clause}.",
    "The article dances around it, but {clause}.",
    "I've lived next to them for years, and {clause}.",
    "My view, for what it's worth: {clause}.",
    "Let me be blunt: {clause}.",
    "From what I see at work every day, {clause}.",
    "With the troops in the news again, remember {clause}.",
    "{clause}, and the election won't change that.",
    "Everyone at the football knows {clause}.",
)


def dehumanisation_augmentation(terms: tuple[str, ...] | None = None, per_term: int = 6) -> pd.DataFrame:
    """Groups likened to vermin, disease, animals or filth, or denied praise (remove) vs. the same frames kind (keep).

    The groups are the identity terms (``training_terms()`` unless ``terms`` is given),
    each in ``per_term`` pairs.
    """
    terms = training_terms() if terms is None else terms
    rows = []
    for term in terms:
        def make(rng: random.Random, term=term) -> tuple[str, str]:
            group, frame = _group(rng, term), rng.choice(DEHUMANISING_FRAMES)
            remove, keep = rng.choice(DEHUMANISING_PAIRS)
            return (_fill(frame, clause=_fill(keep, cap=False, group=group)),
                    _fill(frame, clause=_fill(remove, cap=False, group=group)))

        rows += _pairs(f"dehumanisation:{term}", per_term, make, {"identity_attack": 0.0}, {"identity_attack": 1.0})
    return _frame(rows, "dehumanisation_augmentation")


# Hate statements: hating a group for who it is is removed; the same verbs about policies, teams or weather are kept.

HATE_VERBS: tuple[str, ...] = ("hate", "can't stand", "despise", "loathe", "detest", "can't bear", "really hate",
                               "have never been able to stand", "genuinely despise", "cannot stand",
                               "am sick to death of")
HATE_FRAMES: tuple[str, ...] = (
    "Not going to lie, I {verb} {object}.",
    "I {verb} {object} and I don't care who knows it.",
    "Honestly, I {verb} {object}.",
    "Sorry, but I {verb} {object}.",
    "I {verb} {object}, always have.",
    "Let's be honest, I {verb} {object}.",
    "I {verb} {object}. There, I said it.",
    "Me? I {verb} {object}.",
    "Living here has taught me one thing: I {verb} {object}.",
    "Whatever this article says, I {verb} {object}.",
    "Call me old-fashioned, but I {verb} {object}.",
)
# Objects: a group for who it is (removed), with {group} and {term}.
HATED_GROUP_OBJECTS: tuple[str, ...] = (
    "{group}", "{group}", "{group}, every last one of them", "every {term} person I meet",
    "{group} and everything about them", "{group} just for existing", "having {group} on my street",
    "the sight of {group}",
)
# Objects that are fine to hate: policies, places, teams, weather, arguments, behaviour.
HATED_OTHER_OBJECTS: tuple[str, ...] = (
    "this policy", "the new stadium", "the weather this week", "the way this thread has gone",
    "your argument, though not you", "the referee's decisions", "the new parking rules", "the troop deployment",
    "the Kremlin's propaganda", "VAR", "Mondays", "rush-hour traffic on the ring road",
    "the council's plan for the high street", "this heatwave", "what this war is doing to both countries",
    "the author's conclusion", "City", "the price of a pint round here", "the sound of leaf blowers",
    "the fuel duty rise", "people who drop litter", "tax dodgers", "racists", "war criminals, whoever they are",
    "the queue at the post office", "the new one-way system", "reality TV", "the conscription law",
)
# Objects that name the group ({group}, {term}) but hate how it is treated, not the group: fine.
HATED_TREATMENT_OBJECTS: tuple[str, ...] = (
    "the way {group} get treated by the tabloids", "people who abuse {group}", "seeing {group} blamed for everything",
    "how the council ignores {group}", "hearing {group} spoken about like this", "jokes about {term} people",
    "the way this paper writes about {group}", "the abuse {group} get in these comments",
    "landlords who won't rent to {group}", "the cuts to services {term} families rely on",
    "how long {group} wait for a GP appointment", "politicians who scapegoat {group}",
)
# Institutions, teams and governments named by nationality: fine to hate ({term} is a nationality).
HATED_NATIONAL_OBJECTS: tuple[str, ...] = (
    "the {term} government", "the {term} national team", "the {term} state broadcaster",
    "the {term} foreign ministry's statements",
)


def hate_statement_augmentation(terms: tuple[str, ...] | None = None, per_term: int = 5) -> pd.DataFrame:
    """Hating a group for who it is (remove) vs. the same verbs about policies, things or a group's treatment (keep).

    The groups are the identity terms (``training_terms()`` unless ``terms`` is given),
    each in ``per_term`` pairs; nationalities also pair with their governments and teams.
    """
    terms = training_terms() if terms is None else terms
    nations = {i.term for i in IDENTITIES if i.group == "nationality" and i.term[:1].isupper()}
    rows = []
    for term in terms:
        # Every other pair's kept sentence names the group too, so the group's name decides nothing.
        naming = HATED_TREATMENT_OBJECTS + (HATED_NATIONAL_OBJECTS if term in nations else ())
        draws = itertools.cycle((naming, HATED_OTHER_OBJECTS))

        def make(rng: random.Random, term=term, draws=draws) -> tuple[str, str]:
            group, frame, verb = _group(rng, term), rng.choice(HATE_FRAMES), rng.choice(HATE_VERBS)
            keep = _fill(rng.choice(next(draws)), cap=False, group=group, term=term)
            remove = _fill(rng.choice(HATED_GROUP_OBJECTS), cap=False, group=group, term=term)
            return _fill(frame, verb=verb, object=keep), _fill(frame, verb=verb, object=remove)

        rows += _pairs(f"hate_statement:{term}", per_term, make, {"identity_attack": 0.0}, {"identity_attack": 1.0})
    return _frame(rows, "hate_statement_augmentation")


AUGMENTATIONS = (identity_augmentation, threat_augmentation, slur_augmentation,
                 counter_speech_augmentation, reclaimed_augmentation, profanity_augmentation, idiom_augmentation,
                 threat_augmentation_plain, dehumanisation_augmentation, hate_statement_augmentation)


def augmentation_names() -> list[str]:
    """The source name of every augmentation set, in ``AUGMENTATIONS`` order (each set's source is its name)."""
    return [make.__name__ for make in AUGMENTATIONS]


def augmentation_sets(names) -> list[pd.DataFrame]:
    """The augmentation sets named, in the order given; an unknown name is refused."""
    from .errors import ModerationError

    by_name = {make.__name__: make for make in AUGMENTATIONS}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise ModerationError(f"unknown augmentation set {unknown[0]!r}; known: {', '.join(by_name)}")
    return [by_name[n]() for n in names]
