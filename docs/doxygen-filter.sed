# Doxygen INPUT_FILTER for the public headers (docs/Doxyfile.in). The headers
# use plain /* */ comments; this turns them into documentation comments
# without touching the files: the first comment documents the file, a comment
# that starts a line documents what follows it, a comment after a member,
# parameter or enum value documents that one. Section rules ("/* ---- x ----")
# stay plain comments.
1s,^/\* \(.*\)$,/** \\file\n * \1,
/^ *\/\* ----/b
1!s,^\( *\)/\* ,\1/** ,
s,\([;,]\) *\/\* ,\1 /**< ,
s,^\( *[A-Z][A-Z0-9_]* = -\?[0-9][0-9]*\) *\/\* ,\1 /**< ,
