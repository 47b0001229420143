// m/a.h: includes b.h, which includes it back (the cycle under test).
#pragma once
#include "m/b.h"
