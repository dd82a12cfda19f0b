#define BOOST_TEST_MODULE mpiseg fpgrowth unit tests
#include <boost/test/unit_test.hpp>
