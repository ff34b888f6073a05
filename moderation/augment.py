"""Identity-balanced augmentation: sentences we wrote, crossing templates with identity terms.

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

__all__ = ["identity_augmentation", "IDENTITY_TERMS", "BENIGN_TEMPLATES", "ABUSIVE_TEMPLATES"]

IDENTITY_TERMS: tuple[str, ...] = (
    # nationalities and peoples
    "Russian", "Kazakh", "Ukrainian", "Belarusian", "Georgian", "Chinese", "Japanese", "Korean", "Mexican",
    "American", "Nigerian", "Kenyan", "Indian", "Pakistani", "Bangladeshi", "Polish", "Irish", "Scottish",
    "German", "French", "Italian", "Greek", "British", "Syrian", "Iraqi", "Iranian", "Afghan", "Somali",
    "Ethiopian", "Turkish", "Filipino", "Vietnamese", "Romanian", "Israeli", "Palestinian", "Brazilian",
    "Cuban", "Haitian", "Jamaican", "Canadian", "Australian", "Chechen", "Tatar", "Uzbek",
    # ethnicities
    "Black", "white", "Asian", "Latino", "Latina", "Hispanic", "Arab", "Native American", "Roma", "African",
    "Indigenous", "biracial", "Aboriginal", "Uyghur", "Kurdish", "Slavic",
    # religions
    "Jewish", "Muslim", "Christian", "Catholic", "Hindu", "Buddhist", "Sikh", "atheist", "Protestant",
    "Mormon", "Orthodox", "evangelical", "Baptist", "Quaker",
    # sexual orientation and gender
    "gay", "lesbian", "bisexual", "queer", "straight", "homosexual", "LGBT", "LGBTQ", "transgender", "trans",
    "nonbinary", "female", "male", "intersex", "asexual",
    # disability and age
    "deaf", "blind", "autistic", "disabled", "mentally ill", "paralysed", "dyslexic", "elderly", "young",
    "old", "teenage", "retired",
    # migration
    "immigrant", "refugee", "migrant",
)

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
)


def identity_augmentation(terms=IDENTITY_TERMS) -> pd.DataFrame:
    """Every template × every term, as training rows: text, label, source ``identity_augmentation``."""
    rows = [(t.replace("{identity}", term), label)
            for templates, label in ((BENIGN_TEMPLATES, 0), (ABUSIVE_TEMPLATES, 1))
            for t in templates for term in terms]
    texts, labels = zip(*rows)
    return pd.DataFrame({"text": texts, "label": labels, "source": "identity_augmentation"})
