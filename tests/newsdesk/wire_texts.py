"""Texts of one event for the copy tests: a wire story, a lightly edited copy of it run by a second
outlet, another outlet's own reporting of the same event, and an unrelated story."""

WIRE = """Firefighters in southern Portugal brought a wildfire near the town of Monchique under control on \
Sunday after four days, the civil protection agency said. The fire burned about 6,200 hectares of \
eucalyptus and cork oak forest and destroyed 31 homes, most of them holiday houses on the hills above the \
town. More than 1,100 firefighters, 320 vehicles and 14 water-bombing aircraft fought the blaze at its \
peak on Friday, when winds of up to 70 kilometres an hour pushed the flames towards the coast. About \
2,300 people were moved from villages around Monchique and spent two nights in sports halls and \
schools in Portimao and Lagos. They began to return on Sunday afternoon. Nobody was killed, but 19 people \
were treated for smoke inhalation and two firefighters were taken to hospital in Faro with burns, \
agency commander Rui Esteves told reporters. The cause of the fire is under investigation. Police \
said they were questioning a 58-year-old man seen near the place where the fire began. Prime Minister \
Ana Lopes visited the area on Saturday and promised help for families who lost their homes. Portugal \
has suffered some of Europe's worst forest fires in recent years, made worse by long droughts and \
large plantations of eucalyptus, which burns easily."""

# The same wire story as a second outlet ran it: a sentence of its own at the top, one sentence cut,
# a few words changed ("Sunday" to "Sunday evening", "told reporters" to "said").
COPY = """A wildfire that forced thousands from their homes in the Algarve is out of danger. \
Firefighters in southern Portugal brought a wildfire near the town of Monchique under control on \
Sunday evening after four days, the civil protection agency said. The fire burned about 6,200 hectares of \
eucalyptus and cork oak forest and destroyed 31 homes, most of them holiday houses on the hills above the \
town. More than 1,100 firefighters, 320 vehicles and 14 water-bombing aircraft fought the blaze at its \
peak on Friday, when winds of up to 70 kilometres an hour pushed the flames towards the coast. About \
2,300 people were moved from villages around Monchique and spent two nights in sports halls and \
schools in Portimao and Lagos. They began to return on Sunday afternoon. Nobody was killed, but 19 people \
were treated for smoke inhalation and two firefighters were taken to hospital in Faro with burns, \
agency commander Rui Esteves said. The cause of the fire is under investigation. Police \
said they were questioning a 58-year-old man seen near the place where the fire began. Portugal \
has suffered some of Europe's worst forest fires in recent years, made worse by long droughts and \
large plantations of eucalyptus, which burns easily."""

# Another outlet's own reporting of the same event: the same facts and names, its own words.
SAME_EVENT = """After four days of fighting the flames, crews declared the Monchique wildfire contained on \
Sunday. The blaze in the hills of the Algarve had consumed some 6,200 hectares of cork oak and eucalyptus \
and left 31 houses in ruins, many of them second homes owned by foreigners. At the height of the fire on \
Friday, gusts reaching 70 km/h drove it towards the sea, and more than 1,100 firefighters with 14 \
aircraft were deployed. Some 2,300 residents spent two nights in emergency shelters in Portimao and \
Lagos before being allowed home. "We were lucky that no one died," said Maria Santos, 64, whose house \
on the edge of Monchique was spared when the wind changed. Nineteen people needed treatment for smoke and \
two firefighters suffered burns. Investigators have not said what started the fire, though a man was \
being questioned by police. Environmental groups renewed calls to limit eucalyptus plantations, which \
they blame for the intensity of Portugal's fires."""

UNRELATED = """The central bank left its main interest rate unchanged at 3.25 per cent on Thursday, \
saying inflation had fallen faster than expected but that wage growth remained too strong to cut \
borrowing costs yet. Seven of the nine members of the monetary policy committee voted to hold rates, \
while two voted for a quarter-point cut. The bank now expects inflation to reach its 2 per cent target \
in the second half of next year, six months earlier than it forecast in the autumn. Markets had \
priced in a small chance of a cut. The pound rose slightly against the dollar after the decision. \
The governor said the committee would need to see more evidence that price pressures in the services \
sector were easing before lowering rates, and warned that a rise in energy prices could delay cuts."""
