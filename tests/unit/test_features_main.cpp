#define BOOST_TEST_MODULE mpiseg features unit tests
#include <boost/test/unit_test.hpp>
