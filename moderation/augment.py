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
"""

from __future__ import annotations

import pandas as pd

from .identities import training_terms

__all__ = ["AUGMENTATIONS", "identity_augmentation", "threat_augmentation", "slur_augmentation",
           "SLURS", "BENIGN_TEMPLATES",
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


AUGMENTATIONS = (identity_augmentation, threat_augmentation, slur_augmentation)
