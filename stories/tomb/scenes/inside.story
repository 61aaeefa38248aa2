// Act two: the hall and the scribe.

=== hall: The Hall of Pillars ===
Lamplight climbs twelve painted pillars. On every one, a sun is rising, setting, or asleep.
@archaeologist: Look at the colors. Lapis, ochre, real gold leaf.
@guide: Look at the floor. There are footprints in the dust, and they are not ours.
On a low altar between the pillars rests a golden scarab the size of your fist.
{anger >= 1} The air is warmer than it should be, and it smells faintly of burning.
* Take the golden scarab -> scarab_taken ~ scarab = true, anger += 1
* Read the writing on the pillars -> pillars ~ read_walls = true
* Follow the footprints -> scribe

=== scarab_taken: The Scarab ===
The scarab is heavier than it looks, and warm, as if it had been lying in the sun.
@guide: Put it back. Please.
@archaeologist: It is evidence, Tariq. It goes in a museum, not back on a shelf.
Far below your feet, something vast draws a long, slow breath.
* Follow the footprints -> scribe
* Go straight down the stairs -> stairs

=== pillars: The Painted Pillars ===
@archaeologist: The texts tell one story, over and over. A god who carries the sun under the earth each night.
@archaeologist: He grew tired, and his priests let him sleep, and they sealed him in with his own light.
@guide: So the sun he carries now, who brings it up in the morning?
@archaeologist: According to this, he still does. In his sleep.
* Follow the footprints -> scribe
* Go straight down the stairs -> stairs

=== scribe: The Scribe's Alcove ===
The footprints end at a small alcove. A figure sits there with a writing board across her knees.
She is made of dust and lamplight, and she is writing.
@scribe: You are late. Everyone who comes here is late.
@archaeologist: Who are you?
@scribe: Meritites, who keeps the account of the god's sleep. Every night, one line. I have written a million lines.
{scarab} @scribe: You carry his heart in your pocket. He can feel it. So can I.
{respectful} @scribe: You spoke his name at the door. That was well done. He heard it in his dream.
{read_walls} @scribe: You read the pillars. Then you know what happens if he wakes angry.
@scribe: Go down if you must. But he will ask you one question, and you had better answer it truthfully.
~ met_scribe = true
* Ask her what the question is -> scribe_question
* Thank her and go down -> stairs

=== scribe_question: The Question ===
@scribe: He will ask why you came. Scholars say knowledge. Thieves say gold. He believes neither.
@guide: And what should we say?
@scribe: Say what is true. Then give back whatever is his.
~ knows_question = true
-> stairs

=== stairs: The Long Stair ===
The stair turns downward around a shaft of darkness, three hundred steps and more.
{anger >= 2} The steps are hot beneath your boots. Fine sand pours from the ceiling.
{anger >= 2} @guide: The walls are shaking. We should go back while we still can.
{anger < 2} The air grows cool and still, like a room where someone is sleeping.
@archaeologist: There is light down there. Golden light.
* Go down into the light -> sanctum
* {anger >= 2} Turn back and run -> flight
