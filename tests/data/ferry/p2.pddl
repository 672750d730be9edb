(define (problem ferry-2) (:domain ferry-typed)
  (:objects a b c - place c1 - car)
  (:init (at-ferry b) (empty-ferry) (at c1 a))
  (:goal (and (at c1 c))))
