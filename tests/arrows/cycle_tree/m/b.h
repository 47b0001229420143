// m/b.h
#pragma once
