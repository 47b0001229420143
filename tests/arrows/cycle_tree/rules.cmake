# tests/arrows/cycle_tree/rules.cmake — a module with one include cycle
# (m/a -> m/b -> m/a) and a class split over c.h, c.cpp and c_impl.h, which is
# one unit and no cycle: check-arrows.cmake must name the first, not the
# second (arrows_cycle_fails).
set(MODULES m)
set(ALLOW_m "")
set(LINK_CHECKED "")
