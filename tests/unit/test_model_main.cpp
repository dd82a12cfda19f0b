#define BOOST_TEST_MODULE mpiseg model unit tests
#include <boost/test/unit_test.hpp>
