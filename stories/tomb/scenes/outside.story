// Act one: the desert and the door.

=== dunes: The Dunes at Dusk ===
The sun is sinking behind the dunes, and the sand glows the color of old copper.
A stone doorway, half buried, leans out of the slope like a tooth.
@guide: This is the place. My grandmother said no one should knock on it after dark.
@archaeologist: Your grandmother never had a research grant that ran out on Friday.
@guide: She never needed one. She had sense.
@archaeologist: We have lamps, water for three days, and the first unopened tomb in a century. #grant
* Go in now, before the light is gone -> entrance ~ hurried = true
* Make camp and wait for dawn -> camp

=== camp: The Camp ===
You pitch the tent in the lee of a dune while the sky turns violet.
Tariq builds a small fire and stares at it for a long time before he speaks.
@guide: They say a god sleeps down there. Not dead. Sleeping.
@guide: When he wakes hungry, the sun forgets to rise.
@archaeologist: Every tomb has a curse in the brochure, Tariq.
@guide: (quietly) This one has a name. Khepri-Anu. Say it softly, and only if he asks.
~ knows_name = true
The fire cracks. Somewhere in the dark, sand slides down stone.
At first light you walk back to the doorway together.
-> entrance

=== entrance: The Sealed Door ===
{hurried} The last of the daylight catches on a carved sun with its rays bent inward.
{not hurried} In the fresh morning light, the carved sun above the door looks almost warm.
@archaeologist: A seal of gypsum, untouched. Nobody has been through this in three thousand years.
@archaeologist: There is a line of text beneath the sun. "Speak the sleeper's name, and walk in peace."
{knows_name} @guide: Khepri-Anu. That is the name my grandmother gave me.
{not knows_name} @guide: A name? I know a hundred stories, but not that one.
* {knows_name} Whisper the name to the door -> door_opens ~ respectful = true
* Cut through the seal with the chisel -> door_forced ~ anger += 1
* Look for another way in -> side_shaft

=== door_opens: The Door Opens ===
You whisper the name. The gypsum crackles, and a breath of cool air slides out over your feet.
@archaeologist: It opened by itself. That is not possible.
@guide: It is possible. It is polite.
-> hall

=== door_forced: The Broken Seal ===
The chisel bites. Chips of plaster rain down, and the door groans inward on a stone hinge.
@guide: I wish you had not done that.
@archaeologist: Doors are doors. Lamps up, let's go.
A faint sound answers from deep inside, like someone turning over in their sleep.
-> hall

=== side_shaft: The Robbers' Shaft ===
Around the side of the slope you find a narrow shaft, its edges worn smooth by other hands.
@archaeologist: Tomb robbers. Old ones. They never got the door open, so they dug.
@guide: Robbers who dug here and never came back to fill in their hole.
You squeeze through on your elbows and drop into darkness.
~ anger += 1
-> hall
