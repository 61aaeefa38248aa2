"""`engine export`: a story as a static web game. story_data.py turns a story of our scene format into the data
the page's runtime (page/scenes.js) plays: the same steps as engine/formats/scenes/playthrough.py."""
