"""The demo library of `make run`: its name, its words and its first poll.

The experts are made up and say so; the texts read like a real library's so
that a newcomer sees what a poll page is for.
"""

from __future__ import annotations

from .polls import Opinion, PollDraft

DEMO_NAME = "Bibliotheek Peiling (demo)"
DEMO_SUMMARY = ("Een demobibliotheek die haar vragen aan het publiek op de fediverse stelt. "
                "Volg ons, stem mee en praat mee over de bibliotheek van morgen.")

DEMO_HUB_NAME = "Peilingen van de bibliotheken (demo)"
DEMO_HUB_SUMMARY = ("De landelijke hub: volgt de bibliotheken, laat al hun peilingen zien en telt "
                    "de uitslagen van landelijke peilingen bij elkaar op.")


def demo_poll(now: float) -> PollDraft:
    return PollDraft(question=DEMO_QUESTION, end_time=now + 28 * 86400.0,
                     introduction=DEMO_INTRODUCTION, article=DEMO_ARTICLE,
                     opinions=DEMO_OPINIONS)


DEMO_QUESTION = "Bibliotheken behandelen sociale media nog als bijzaak."
DEMO_INTRODUCTION = (
    "Bijna elke bibliotheek heeft een account op sociale media, maar wie post er, met welk "
    "doel, en wie leest de reacties? Wij zijn benieuwd hoe u dat ziet. Stem eens of oneens, "
    "hier of vanaf uw eigen Mastodon-account, en praat mee.")
DEMO_ARTICLE = """\
## Een account is nog geen aanwezigheid

Wie de accounts van Nederlandse bibliotheken doorloopt, ziet vooral aankondigingen: de
voorleesochtend, het taalcafé, aangepaste openingstijden rond de feestdagen. Vaak plaatst
degene die er die week tijd voor heeft het bericht. Een plan, een budget of iemand die
vragen en reacties beantwoordt, is er zelden.

Tegelijk zoeken veel mensen juist daar hun nieuws en hun antwoorden, en juist daar gaan
geruchten en halve waarheden rond. Een bibliotheek die staat voor betrouwbare informatie en
een open gesprek, hoort die dan niet volwaardig aanwezig te zijn waar dat gesprek gevoerd
wordt?

## Maar waar dan?

Ook daarover verschillen de meningen. Commerciële platforms bepalen zelf wie wat te zien
krijgt en verdienen aan de gegevens van hun gebruikers. Open netwerken zoals de fediverse
zijn kleiner, maar daar houdt een publieke organisatie zelf de regie. Deze peiling staat zelf
op de fediverse: u kunt meestemmen vanaf uw eigen account.

*Dit is een voorbeeldpeiling in de demo van Peiling. De deskundigen hieronder zijn verzonnen.*
"""
DEMO_OPINIONS = (
    Opinion("Marieke Voskuilen", "Hoofd publieksdiensten, Bibliotheek Aan de Vaart (fictief)",
            "**Eens.** We zenden, maar we luisteren niet. Een vraag onder een bericht blijft "
            "soms dagen liggen, terwijl we aan de balie binnen een minuut antwoord geven. "
            "Sociale media horen bij de dienstverlening, niet bij de folders."),
    Opinion("Ruben Aldewereld", "Lector digitale geletterdheid (fictief)",
            "**Eens, met een kanttekening.** Serieus nemen betekent ook kiezen. Een bibliotheek "
            "die mensen leert hoe algoritmes werken, kan niet zonder nadenken op elk platform "
            "meedoen. Begin bij de plekken waar u zelf de regels kent."),
    Opinion("Sanne Okafor-de Wit", "Leesconsulent en jongerenwerker (fictief)",
            "**Oneens.** Kleine bibliotheken doen met een paar uur per week wat ze kunnen, en "
            "onze jongerenpanels zitten gewoon op de platforms die zij gebruiken. Het gesprek "
            "vindt vooral in het gebouw plaats, en dat is geen bijzaak."),
)
