// m/c_impl.h: its private half, including the public one: the same unit.
#pragma once
#include "m/c.h"
