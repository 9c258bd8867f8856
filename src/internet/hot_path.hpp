// TWISTED_HOT marks the functions every event goes through (the loop turn,
// dispatch, a transport's read and write). GCC places them together in
// .text.hot, so one turn touches a few pages and cache lines of code rather
// than lines spread over the whole library: when the loop wakes after
// other work has run on its core, its code is cold, and those misses cost
// more than its instructions (bench/echo, side-by-side cases).
#pragma once

#define TWISTED_HOT [[gnu::hot, gnu::aligned(64)]]
