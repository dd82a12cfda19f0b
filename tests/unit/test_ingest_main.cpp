#define BOOST_TEST_MODULE mpiseg ingest unit tests
#include <boost/test/unit_test.hpp>
