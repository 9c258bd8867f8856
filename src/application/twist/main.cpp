// The `twist` program: Twisted's `twist`, with the built-in plugins.
#include "twisted/application/twist.hpp"

int main(int argc, char** argv) {
  return twisted::application::runTwist(argc, argv);
}
