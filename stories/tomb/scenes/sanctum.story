// Act three: the god, and how it ends.

=== sanctum: The Sanctum of the Sun ===
The stair opens into a round chamber. In its center, on a bed of gold, lies a figure with the head of a beetle and the body of a man.
Light leaks from him like water from a cracked jar.
His eyes open.
{anger >= 2} @god (O.S.): (shouting) WHO BREAKS MY DOOR AND STEALS MY HEART WHILE I DREAM?
{anger < 2} @god (O.S.): (softly) Who walks so softly in my house?
@god: Why have you come?
* Tell him the truth: you came to learn -> truth
* {scarab} Offer him back the scarab -> return_heart ~ scarab = false, anger -= 2
* Tell him you came for treasure -> greed ~ anger += 2

=== truth: The Truth ===
@archaeologist: I came to learn. To read your walls and tell the world that you were here.
{knows_question} @archaeologist: And to give back anything that is yours.
@god: Many have come to learn. Few have said so.
{scarab} @god: Yet my heart is in your pocket, scholar. Learning has sticky fingers.
{scarab} -> judgement
@god: You may tell the world. Tell it gently.
-> blessing

=== return_heart: The Heart Returned ===
You set the scarab on the golden bed. It begins to glow, and the god's light steadies like a flame out of the wind.
@god: An honest thief is rarer than a god. Thank you.
@guide: We only want to go home. Sleep well, great one.
-> blessing

=== greed: Treasure ===
@archaeologist: Treasure. I came for the gold.
@god: Then you shall have all the gold in this room, forever.
The light grows unbearable, and the doorway behind you seals with a sound like a closing book.
-> sealed

=== judgement: The Weighing ===
@god: You told me part of the truth. I will give you part of the way home.
@god: Go, before I wake completely.
{met_scribe} @scribe: Run. I will write that you were polite.
-> flight

=== blessing: Dawn ===
The god closes his eyes. His light settles into a warm, even glow.
@god: Leave the door as you found it. When the sun rises, it will be my doing, as it has always been.
You climb for what feels like hours and step out into the sand just as the sun clears the horizon.
@guide: It came up. It actually came up.
@archaeologist: I am going to write the most boring report of my life. No curses. No gold. Just a sleeping god.
{knows_name} @guide: And one name we will never print.
-> END The Sun Rises on Time

=== flight: Flight ===
You run. The stair shakes behind you, and the golden light turns red.
@guide: Faster! The ceiling is coming down!
You burst out into the open air as the doorway folds in on itself with a roar of sand.
@archaeologist: It's gone. The whole tomb. Three thousand years, and I buried it in an afternoon.
@guide: We are alive. Write that in your report.
-> END Buried Again

=== sealed: Sealed In ===
The gold is everywhere, and it is warm, and it is very quiet.
@god: Sleep now. You have all the treasure you asked for.
@scribe: One more line in the account. There is always one more line.
-> END The Eternal Treasury
