=== cellar ===
# title: The Oil Cellar
The stairs wind down into the cold. #id:cel_stairs
{ oil < 2:
    You find one last can behind the barrels. #id:cel_found
    ~ oil += 1
- else:
    The shelves are bare. #id:cel_bare
}
KEEPER: Hurry now. The light will not wait for us. #id:cel_hurry
->->
