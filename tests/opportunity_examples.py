"""Labelled example posts for the opportunity scorer, as data (tests and benchmarks reuse them).

`EXAMPLES` is a list of `(text, is_opportunity, category_or_None)`. Positives span every category
in Dutch, Flemish and English; negatives are the hard kinds: posts that share words with real
calls but are vacancies, sales, event announcements, advice among friends, closed calls, brags
about having been featured, giveaways, polls and ordinary news. `NEGATIVES_BY_KIND` keeps the
negatives grouped so a test or a benchmark can report per kind. All texts were written for these
tests (realistic, not copied posts); `POSTED_AT` is the moment they are scored at.
"""

from __future__ import annotations

from datetime import UTC, datetime

# Thursday 12 June 2014, 14:01 UTC: the day of the #twelftal story in ../shared/seed.
POSTED_AT = datetime(2014, 6, 12, 14, 1, tzinfo=UTC)

SEED_POST = "Is jouw werkplek uniek, verrassend en een must see voor Emerce-lezers?"

# (text, category)
POSITIVES: list[tuple[str, str]] = [
    # submission: outlets inviting readers and companies to show their office or work
    (SEED_POST, "submission"),
    (
        "Oproep: heb jij het mooiste kantoor van Nederland? Stuur je foto's in vóór 20 juni en "
        "misschien sta je in ons maandblad. #werkplek",
        "submission",
    ),
    (
        "Sprout zoekt bijzondere werkplekken om uit te lichten in de volgende editie. "
        "Mail ons je tips!",
        "submission",
    ),
    (
        "We're looking for creative agencies with unusual offices to feature in our next issue. "
        "Pitch us at the address in our bio.",
        "submission",
    ),
    (
        "Hebt gij een straf kantoor of een werkplek die eruit springt? Laat het ons weten, "
        "dan komt ge misschien in De Standaard Weekblad.",
        "submission",
    ),
    (
        "Tweakers zoekt lezers met een bijzondere thuiswerkplek. Reageer onder dit artikel, "
        "de mooiste komen in een fotoserie.",
        "submission",
    ),
    (
        "Do you have a workspace that makes visitors stop and stare? Marketingfacts wants to "
        "feature the most surprising offices this summer. Submit yours by July 1.",
        "submission",
    ),
    (
        "Hoe ziet jouw thuiswerkplek eruit? Deel je foto met #mijnwerkplek en misschien tonen "
        "we hem in de volgende editie van ons magazine.",
        "submission",
    ),
    (
        "Know someone who runs a business from a truly odd location? Tell us, we'd love to "
        "feature them in our newsletter.",
        "submission",
    ),
    # journalist_request
    (
        "#journorequest Looking for marketing managers who can comment on the #twelftal "
        "campaign for a piece in NRC. DM me by EOD Thursday.",
        "journalist_request",
    ),
    (
        "Journalist bij De Standaard zoekt ondernemers die hun kantoor delen met een ander "
        "bedrijf. Wie wil er zijn verhaal doen? Mail me vóór vrijdag.",
        "journalist_request",
    ),
    (
        "Voor een artikel in Het Financieele Dagblad zoek ik ervaringsdeskundigen: mkb'ers die "
        "stopten met adverteren op Facebook. Reageren kan tot en met 5 mei.",
        "journalist_request",
    ),
    (
        "#prrequest Seeking sources: Amsterdam founders who relaunched their brand after a "
        "failed campaign. Please get in touch before 20 June.",
        "journalist_request",
    ),
    (
        "Voor een reportage op Radio 1 zoeken we ouders die thuiswerken met kleine kinderen. "
        "Wilt u uw verhaal doen? Contacteer de redactie.",
        "journalist_request",
    ),
    (
        "Are you a marketer hit by the new cookie law? I'm a journalist at Tweakers looking to "
        "speak to people affected. Replies welcome until tomorrow.",
        "journalist_request",
    ),
    # speakers
    (
        "Call for speakers: het Frankwatching Marketing Tech Congres zoekt sprekers met een "
        "sterk praktijkverhaal. Dien je voorstel in uiterlijk 1 maart.",
        "speakers",
    ),
    (
        "Sprekers gezocht! Wil jij op het podium van #eDay vertellen hoe jouw team inhaakt op "
        "het nieuws? Meld je aan via de site.",
        "speakers",
    ),
    (
        "Our CFP for Content Marketing Live Amsterdam is open until June 30. We want practical "
        "talks from in-house marketers. #cfp",
        "speakers",
    ),
    (
        "Oproep aan alle Vlaamse marketeers: dien uw sessievoorstel in voor Marketing Summit "
        "Gent, kandidaturen tot 15 juli.",
        "speakers",
    ),
    # guests
    (
        "Voor onze podcast De Inhakers zoeken we gasten met een mooi verhaal over een campagne "
        "die viral ging. Stuur ons een DM!",
        "guests",
    ),
    (
        "BNR Zakendoen zoekt gasten: ondernemers die in de uitzending willen vertellen over hun "
        "eerste klant. Aanmelden via de site.",
        "guests",
    ),
    (
        "Podcast guests wanted! The Marketing Espresso is looking for B2B marketers to come on "
        "the show and talk about their worst campaign. Apply via the form.",
        "guests",
    ),
    (
        "Wil jij te gast zijn in onze podcast Zeg Het Maar? We zoeken Vlaamse ondernemers met "
        "een straf verhaal.",
        "guests",
    ),
    # awards
    (
        "Inschrijving voor de Emerce eTail Awards is geopend! Stuur je case in vóór 20 juni.",
        "awards",
    ),
    (
        "Nomineer jouw favoriete marketeer van het jaar voor de Sprout Marketing Awards. "
        "Nominaties kunnen t/m 5 mei.",
        "awards",
    ),
    (
        "Entries are now open for the Dutch Interactive Awards 2014. Submit your campaign "
        "before 15 July.",
        "awards",
    ),
    (
        "De inschrijvingen voor de Gouden Giraffe Awards zijn geopend. Schrijf je bureau in tot "
        "en met 30 juni.",
        "awards",
    ),
    # participants
    (
        "Deelnemers gezocht voor de Marketingfacts Inhaak Challenge: teams van drie "
        "marketeers, aanmelden kan tot 20 juni.",
        "participants",
    ),
    (
        "We zoeken tien webwinkels die willen meedoen aan een pilot met Thuiswinkel.org. "
        "Meld je aan via de link.",
        "participants",
    ),
    (
        "Calling all Dutch startups: Rockstart is looking for 10 scale-ups for its new "
        "accelerator programme. Applications close 15 July.",
        "participants",
    ),
    (
        "Partners gezocht voor Digital First Gent! Wil uw bedrijf mee aan boord? Contacteer ons "
        "vóór 1 september.",
        "participants",
    ),
    # guest_blog
    (
        "Frankwatching zoekt gastbloggers met verstand van e-mailmarketing. Stuur je voorstel "
        "naar de redactie.",
        "guest_blog",
    ),
    (
        "Write for us: Marketingfacts accepteert gastbijdragen over data-driven marketing. "
        "Pitch us your guest post idea.",
        "guest_blog",
    ),
    (
        "Schrijf jij graag over social media? Wij zoeken gastbloggers voor onze vakblog. Mail "
        "je eerste gastblog naar de redactie.",
        "guest_blog",
    ),
    (
        "Gastauteurs gezocht voor Bloovi! Hebt ge een straffe opinie over Vlaamse startups? "
        "Stuur uw tekst in.",
        "guest_blog",
    ),
    # more, written after the rules to check they generalize (kept as regression examples)
    (
        "Emerce zoekt de leukste kantoren van Nederland voor de rubriek 'Werkplek'. Tip ons via "
        "de redactie!",
        "submission",
    ),
    (
        "Heb je een mooi voorbeeld van inhaken op het WK? Marketingfacts verzamelt de beste "
        "cases. Stuur ze naar ons!",
        "submission",
    ),
    (
        "Ken jij een bedrijf met een bijzondere werkplek? Tip de redactie van Emerce!",
        "submission",
    ),
    (
        "Werk jij in een bijzonder gebouw? Voor onze serie 'Kantoor van de week' zoeken we "
        "nieuwe kandidaten. Mail de redactie.",
        "submission",
    ),
    (
        "Does your agency have an office dog? We want to hear from you for our #officedogs "
        "series. Email us photos by Friday!",
        "submission",
    ),
    (
        "We are looking for Belgian brands that did something clever with the World Cup. Reply "
        "with your examples!",
        "submission",
    ),
    (
        "Help! Voor een uitzending van EenVandaag zoek ik iemand die zijn baan verloor door een "
        "tweet. Reacties graag via DM.",
        "journalist_request",
    ),
    (
        "PR folks: I'm writing a feature for Adformatie on brands that jumped on the World Cup. "
        "Who has a good case? Reply below.",
        "journalist_request",
    ),
    (
        "Marketeers, wie heeft er ervaring met inhaken op het WK en wil daarover vertellen in "
        "Trouw? Mail me even.",
        "journalist_request",
    ),
    (
        "Speakers wanted for Inbound Antwerpen 2014! Submit a talk before 1 August.",
        "speakers",
    ),
    (
        "Hosting a meetup in Utrecht and looking for two speakers on real-time marketing. "
        "Interested? DM me.",
        "speakers",
    ),
    (
        "Wil jij jouw kennis delen met 500 marketeers? Word spreker op Emerce Performance. "
        "Aanmelden vóór 15 juli.",
        "speakers",
    ),
    (
        "Podcast Marketing Onder Vuur zoekt nieuwe gasten voor seizoen 3. Heb jij een stevige "
        "mening? Meld je aan!",
        "guests",
    ),
    ("De MarCom Awards 2014: inzenden kan nog tot en met 13 juni!", "awards"),
    ("Call for entries: ADCN Lamp 2014. Deadline 1 september.", "awards"),
    (
        "Is jouw campagne de beste van 2014? Schrijf hem in voor de Esprix voor 1 oktober.",
        "awards",
    ),
    (
        "Nog 2 plekken vrij in onze accelerator! Startups kunnen zich aanmelden tot vrijdag.",
        "participants",
    ),
    (
        "Wij zoeken nog vrijwilligers voor de schoonmaakactie in het park zaterdag. Meld je aan!",
        "participants",
    ),
    (
        "Ben je goed in schrijven en heb je verstand van SEO? Word gastblogger bij Marketingfacts!",
        "guest_blog",
    ),
]

NEGATIVES_BY_KIND: dict[str, list[str]] = {
    "vacancy": [
        "We're hiring a social media editor. Are you the one? Apply before 20 June.",
        "Wij zoeken nog een stagiair(e) marketing & communicatie voor het najaar. Ken jij "
        "iemand? Tag ze hieronder!",
        "Zin in een uitdaging? Solliciteer nu op onze vacature voor digital marketeer!",
        "Do you have what it takes? Apply now for our traineeship!",
        "Wij zoeken een ervaren front-end developer (m/v) voor ons team in Amsterdam. "
        "Solliciteer vóór 20 juni!",
        "Vacature: online marketeer bij Emerce, 32-40 uur per week. Reageer via onze site.",
        "We're hiring! Join our team as a content marketing manager in Rotterdam. Apply now.",
        "Bij Flipit.com zijn ze nog op zoek naar een Belgische stagiair. Interesse? Stuur je cv "
        "in.",
        "Wij zoeken een enthousiaste collega voor ons team in Gent. Stel je kandidaat voor 1 juli.",
        "Is jouw droombaan een functie als community manager? Kom ons team versterken!",
    ],
    "promotion": [
        "Are you ready for the World Cup? Our #twelftal bundle is now 20% off.",
        "Weet jij al waar je naartoe gaat deze zomer? Boek nu je vakantie met korting.",
        "Ken jij ons nieuwe magazine al? Bestel het nu met 25% korting.",
        "Sale! Alle boeken over contentmarketing nu 40% off. Order today.",
        # calls to action that look like invitations but sell something
        "Heb je vragen? Neem contact op met onze klantenservice.",
        "Wil jij meer leads? Download ons whitepaper en reageer als je vragen hebt.",
        "Do you want more followers? Send us a message and we'll show you how.",
        "Is jouw website klaar voor het WK? Laat ons een gratis scan doen. Neem contact op!",
        "Wil je ook zo'n mooi kantoor? Neem contact op met onze interieurarchitecten.",
        "Ben je benieuwd naar onze nieuwe collectie? Laat het ons weten in de comments!",
        "Zomeractie! 20% korting op alle cursussen voor Emerce-lezers. Alleen vandaag.",
        "Ben jij klaar voor de zomer? Shop nu met gratis verzending.",
        "Only this week: 30% off all templates. Shop now and use code SUMMER14.",
        "Schrijf je in voor onze nieuwsbrief en ontvang een kortingscode van 10%.",
        "Profiteer nu van onze solden-aanbieding: 2 + 1 gratis. Bestel nu in de webshop!",
    ],
    "event_announcement": [
        "Ben jij er ook bij? Schrijf je in voor ons gratis webinar over contentmarketing.",
        "Heb jij al een ticket voor #eDay? Meld je snel aan, want vol is vol!",
        "Are you coming to the Emerce eDay tomorrow? Let me know, let's grab a coffee!",
        "Gisteren een geweldige dag gehad op het Marketingfacts Jaarcongres, dank aan alle "
        "sprekers!",
        "Morgen spreek ik op #eDay over inhaken op het WK. Tot dan!",
        "Kom naar onze stand (nr. 42) op de Marketing Tech beurs en maak kennis met ons team.",
        "Excited to share: I'm speaking at Content Marketing Live in Amsterdam next week. "
        "See you there!",
        "Vanavond live vanaf de Emerce Conversion: volg onze tweets met #ecv14.",
        "Tickets zijn nu verkrijgbaar voor het Frankwatching Congres! Bestel je tickets vóór "
        "1 mei.",
    ],
    "friend_advice": [
        "Heb je een lekke band? Reageer hieronder als je ook last hebt van de wegwerkzaamheden.",
        "Wie gaat er morgen naar #eDay? Laat het me weten, dan drinken we een koffie.",
        "Weet iemand een goede kapper in Utrecht? Mijn vaste kapper is gestopt.",
        "Kent er iemand een betaalbare fotograaf voor een bedrijfsfeest? Tips welkom!",
        "Does anyone know a good dentist in Amsterdam-Oost? Asking for a friend.",
        "Iemand tips voor een leuk restaurant in Gent voor vrijdagavond?",
        "Ik ben op zoek naar een goede webdesigner voor mijn eenmanszaak. Wie heeft een aanrader?",
    ],
    "closed_call": [
        "De inschrijving is gesloten. Bedankt voor alle inzendingen voor de Emerce eTail Awards!",
        "Submissions are closed for this year's call for speakers. Thanks for all the proposals!",
        "Update: we hebben genoeg reacties op onze oproep, bedankt allemaal!",
        "Our #journorequest has been answered, thank you all for the responses!",
        "De oproep voor sprekers is afgelopen. Bedankt voor de vele inzendingen!",
    ],
    "already_featured": [
        "Bedankt Emerce voor het artikel over onze kerk als werkplek!",
        "Leuk om terug te lezen: ons kantoor in een oude fabriek stond vorig jaar in de rubriek "
        "Werkplek van Sprout. Nog steeds trots!",
        "We zijn genomineerd voor de Emerce eTail Awards! Stem op ons via de link.",
        "Ons kantoor staat in Emerce! Bedankt voor het mooie artikel over onze kerk.",
        "Proud to say we were featured in Marketingfacts this week. Read the interview here.",
        "Trots dat we zijn uitgelicht in de rubriek Werkplek van Sprout!",
        "Onze kerk stond deze maand in het maandblad van Emerce. Lees het interview via onze site.",
        "As featured in Tweakers: our smart office desk. Thanks to Tweakers for featuring us!",
    ],
    "giveaway": [
        "WIN! Like en deel dit bericht en maak kans op twee tickets voor #eDay.",
        "Giveaway time! Retweet and follow to win a year of Marketingfacts Premium.",
        "Doe mee met onze winactie: tag een vriend en win een Sonos speaker!",
        "Wil jij kans maken op een gratis workshop? Like & share deze post!",
        "Wedstrijd! Vind dit bericht leuk, deel het en win een weekendje Oostende.",
    ],
    "poll": [
        "Wat vinden jullie van het nieuwe logo van de Rabobank? Mooi of lelijk?",
        "Poll: is inhaken op het WK nog origineel? Stem hieronder!",
        "What do you think: is newsjacking the #twelftal campaign clever or cheap?",
        "Eens of oneens: social media hoort niet op de werkvloer. Wat denken jullie?",
    ],
    "news": [
        "Nu in Emerce: de 10 mooiste werkplekken van Nederland.",
        "Morgen in Emerce: interview met de oprichter van Coolblue. Niet missen!",
        "Vandaag in ons maandblad: de mooiste werkplekken van Nederland, waaronder een kantoor "
        "in een kerk.",
        "Ken jij onze podcast al? Nieuwe aflevering staat online!",
        "Oproep aan alle kiezers: ga morgen stemmen!",
        "Heb jij ook zo'n zin in het weekend?",
        "Heineken zet tien Twitteraars in voor het #twelftal tijdens het WK.",
        "Politie doet oproep: getuigen gezocht van inbraak bij bedrijfspand in Zaventem.",
        "Groeiend belang sociale media op de werkvloer: steeds meer bedrijven stimuleren "
        "personal branding.",
        "Bol.com opent nieuw distributiecentrum in Waalwijk; 500 nieuwe banen.",
        "Emerce: Zalando groeit hard in België en Nederland.",
        "De Standaard: Vlaamse kmo's investeren meer in online marketing.",
        "Vakbonden doen oproep tot staking bij Delhaize.",
        "The Guardian reports that Dutch brands are spending more on Twitter ads during the "
        "World Cup.",
        "In deze gastblog legt Bram uit waarom social media op de werkvloer loont.",
    ],
}

EXAMPLES: list[tuple[str, bool, str | None]] = [
    (text, True, category) for text, category in POSITIVES
] + [(text, False, None) for texts in NEGATIVES_BY_KIND.values() for text in texts]
