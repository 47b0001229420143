# libmicrohttpd alone, configured as the hub's HTTP layer and doing nothing
# else: hub_ingest_bench runs it in the hub's place (--hub) to print the
# floor the issue's chosen HTTP library sets under the hub (docs/benchmarks.md).
find_package(PkgConfig REQUIRED)
pkg_check_modules(MHD_FLOOR REQUIRED IMPORTED_TARGET libmicrohttpd>=0.9.75)
stoa_add_bench(mhd_floor ${CMAKE_CURRENT_LIST_DIR}/mhd_floor.cpp)
target_link_libraries(mhd_floor PRIVATE PkgConfig::MHD_FLOOR)
