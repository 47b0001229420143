// m/c.h: the public half of a class.
#pragma once
#include "m/b.h"
