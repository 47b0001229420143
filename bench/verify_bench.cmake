# verify_bench: Stoa envelope verification vs the openssl command line.
stoa_add_bench(verify_bench ${CMAKE_CURRENT_LIST_DIR}/verify_bench.cpp)
target_link_libraries(verify_bench PRIVATE stoa_schedule Qt6::Core OpenSSL::Crypto)
