// The tomb's cast in a few lines: every character speaks, the god twice, on the way to either ending.

=== door: The Door ===
A stone doorway leans out of the dunes.
@guide: This is the place. Say the name softly.
@archaeologist: Then we go in.
* Go in -> hall
* Go home -> home

=== hall: The Hall ===
Gold light fills the hall.
@scribe: Who walks in the house of the sleeper?
@god: Speak softly in my halls.
@god: The dawn is still my gift.
-> END The Gift

=== home: Home ===
You walk back over the sand.
@guide: Another night, then.
-> END Home
