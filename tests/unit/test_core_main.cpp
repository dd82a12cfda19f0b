#define BOOST_TEST_MODULE mpiseg core unit tests
#include <boost/test/unit_test.hpp>
